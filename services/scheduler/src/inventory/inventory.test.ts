// Registrations through a fake bus and fake models: one batch stored at a time, what
// arrives meanwhile goes in the next, and a host stored before is updated alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AgentRegistration, type Bus, silentLogger } from '@yixing/common';
import type { Models } from '../db/models.ts';
import { Inventory, MAX_PENDING_REGISTRATIONS } from './inventory.ts';

type Handler = (msg: AgentRegistration, delivery: { respond(ack: { accepted: boolean }): void }) => void;

/** What the driver throws for an unordered insert some of whose documents were refused. */
const BulkError = (writeErrors: { code: number; index: number }[]) => Object.assign(new Error('bulk write error'), { writeErrors });

function fakes(stored: Set<string>) {
  const handlers = new Map<string, Handler>();
  const inserts: string[][] = [];
  const updates: string[][] = [];
  let writing = 0;
  let overlapped = false;
  let release: () => void = () => {};
  let gate: Promise<void> | undefined = new Promise((r) => {
    release = r;
  });
  const bus = {
    subscribe: (name: string, _tokens: unknown, handler: Handler) => {
      handlers.set(name, handler);
      return { unsubscribe: () => undefined };
    },
  };
  const models = {
    Host: {
      insertMany: async (docs: { _id: string }[]) => {
        writing++;
        if (writing > 1) overlapped = true;
        inserts.push(docs.map((d) => d._id));
        // The first batch is slow: later registrations arrive while it is written.
        if (gate) await gate;
        writing--;
        const dups = docs.flatMap((d, index) => (stored.has(d._id) ? [{ code: 11000, index }] : []));
        for (const d of docs) stored.add(d._id);
        if (dups.length > 0) throw BulkError(dups);
      },
      bulkWrite: async (ops: { updateOne: { filter: { _id: string } } }[]) => {
        updates.push(ops.map((o) => o.updateOne.filter._id));
      },
    },
  };
  return {
    bus: bus as unknown as Bus,
    models: models as unknown as Models,
    handlers,
    inserts,
    updates,
    overlapped: () => overlapped,
    open: () => {
      gate = undefined;
      release();
    },
  };
}

const registration = (hostId: string): AgentRegistration =>
  ({
    hostId,
    agentVersion: 'v',
    driver: 'simulate',
    atMs: 0,
    facts: { hostname: hostId },
    labels: { pool: 'p', cluster: 'c' },
  }) as AgentRegistration;

test('one registration batch is stored at a time; what arrives meanwhile goes in the next, every request answered', async () => {
  const f = fakes(new Set(['h-old']));
  const inv = new Inventory({ models: f.models, bus: f.bus, log: silentLogger(), clock: Date.now, registrationBatchMs: 5 });
  inv.start();
  const register = f.handlers.get('agentRegistration') as Handler;
  const answers: boolean[] = [];
  const send = (id: string): void => register(registration(id), { respond: (ack) => answers.push(ack.accepted) });
  send('h1');
  send('h2');
  await sleep(20); // the first batch is being written
  send('h1'); // an agent that gave up waiting and asked again
  send('h3');
  send('h-old'); // stored by an earlier scheduler
  await sleep(20);
  assert.equal(f.inserts.length, 1, 'the second batch waits for the first');
  f.open();
  while (answers.length < 5) await sleep(5);
  await inv.stop();
  assert.equal(f.overlapped(), false, 'never two batches written at once');
  assert.deepEqual(
    f.inserts,
    [
      ['h1', 'h2'],
      ['h3', 'h-old'],
    ],
    'a host known from the first batch is not inserted again',
  );
  assert.deepEqual(f.updates, [['h-old']], 'only the host stored before is updated');
  assert.deepEqual(answers, [true, true, true, true, true]);
});

test('waiting registrations are bounded: one per host, and past the bound refused at once', async () => {
  const f = fakes(new Set());
  const inv = new Inventory({ models: f.models, bus: f.bus, log: silentLogger(), clock: Date.now, registrationBatchMs: 5 });
  inv.start();
  const register = f.handlers.get('agentRegistration') as Handler;
  const answers = new Map<string, boolean[]>();
  const send = (id: string): void =>
    register(registration(id), { respond: (ack) => answers.set(id, [...(answers.get(id) ?? []), ack.accepted]) });
  send('first');
  while (f.inserts.length === 0) await sleep(5); // its batch is being written (held)
  for (let i = 0; i < MAX_PENDING_REGISTRATIONS; i++) send(`h${i}`);
  send('h0'); // the agent gave up waiting and asked again: the older request is answered
  assert.deepEqual(answers.get('h0'), [false], 'the superseded request is answered at once');
  send('one-too-many');
  assert.deepEqual(answers.get('one-too-many'), [false], 'refused while the queue is full');
  f.open();
  await inv.stop();
  const stored = f.inserts.flat();
  assert.equal(stored.length, MAX_PENDING_REGISTRATIONS + 1, 'each waiting host stored once');
  assert.equal(new Set(stored).size, stored.length);
  assert.ok(!stored.includes('one-too-many'));
  assert.deepEqual(answers.get('h0'), [false, true], 'the newer registration is stored and accepted');
  assert.deepEqual(answers.get('h1'), [true]);
});

test('a follower answers no agent: neither a superseded registration nor one past the bound', async () => {
  const f = fakes(new Set());
  f.open();
  const inv = new Inventory({
    models: f.models,
    bus: f.bus,
    log: silentLogger(),
    clock: Date.now,
    registrationBatchMs: 5,
    leads: () => false,
  });
  inv.start();
  const register = f.handlers.get('agentRegistration') as Handler;
  let answers = 0;
  for (let i = 0; i < MAX_PENDING_REGISTRATIONS + 5; i++) register(registration(`h${i}`), { respond: () => answers++ });
  register(registration('h0'), { respond: () => answers++ });
  await inv.stop();
  assert.equal(answers, 0, 'the leader answers agents, never a follower');
  assert.equal(inv.size, MAX_PENDING_REGISTRATIONS + 5, 'the follower knows every host');
  assert.deepEqual(f.inserts, [], 'and stores none');
});

test('the host list pages in id order, by labels, with the total, whatever order hosts registered in', async () => {
  const f = fakes(new Set());
  f.open();
  const inv = new Inventory({ models: f.models, bus: f.bus, log: silentLogger(), clock: Date.now, registrationBatchMs: 1 });
  inv.start();
  const register = f.handlers.get('agentRegistration') as Handler;
  let answered = 0;
  const send = (id: string, cluster: string): void =>
    register({ ...registration(id), labels: { pool: 'p', cluster } } as AgentRegistration, { respond: () => void answered++ });
  for (const [id, c] of [
    ['h-05', 'a'],
    ['h-01', 'b'],
    ['h-04', 'a'],
    ['h-02', 'a'],
  ] as const)
    send(id, c);
  while (answered < 4) await sleep(2);
  send('h-03', 'a'); // registered after the first page was read
  const ids = (p: { hosts: { _id: string }[] }) => p.hosts.map((h) => h._id);
  const first = inv.page({ cluster: 'a' }, undefined, 2);
  assert.deepEqual([ids(first), first.more, first.total], [['h-02', 'h-04'], true, 3]);
  while (answered < 5) await sleep(2);
  const second = inv.page({ cluster: 'a' }, 'h-04', 2);
  assert.deepEqual([ids(second), second.more, second.total], [['h-05'], false, 4], 'h-03 came before the cursor');
  assert.deepEqual(ids(inv.page({}, 'h-01', 10)), ['h-02', 'h-03', 'h-04', 'h-05']);
  assert.deepEqual(ids(inv.page({}, 'h-9', 10)), []);
  assert.deepEqual(
    inv.select({ cluster: 'a' }).map((h) => h._id),
    ['h-02', 'h-03', 'h-04', 'h-05'],
  );
  await inv.stop();
});
