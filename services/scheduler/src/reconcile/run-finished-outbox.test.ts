// The RunFinished outbox with fake ports: what is sent, when again, what is recorded,
// and how a plan's announcements are counted and forgotten.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PublishUnavailableError, silentLogger } from '@yixing/common';
import type { Models, RunAnnouncedDoc } from '../db/models.ts';
import { finishedRun, testRun } from './engine.fixtures.ts';
import { RunFinishedOutbox } from './run-finished-outbox.ts';

const settle = () => new Promise((resolve) => setImmediate(resolve));

function fakes(opts: { announced?: string[]; failFirst?: number } = {}) {
  const records: RunAnnouncedDoc[] = opts.announced?.map((id) => ({ _id: id, key: '', planId: '', at: new Date() })) ?? [];
  const deleted: unknown[] = [];
  const sent: string[] = [];
  let failures = opts.failFirst ?? 0;
  let now = 1_000;
  const models = {
    RunAnnounced: {
      find: (filter: { _id: { $in: string[] } }) => ({
        lean: async () => records.filter((r) => filter._id.$in.includes(r._id)).map((r) => ({ _id: r._id })),
      }),
      create: async (doc: RunAnnouncedDoc) => records.push(doc),
      deleteMany: async (filter: unknown) => deleted.push(filter),
    },
  } as unknown as Pick<Models, 'RunAnnounced'>;
  const bus = {
    publishDurable: async (_route: string, init: { runId: string }) => {
      sent.push(init.runId);
      if (failures > 0) {
        failures--;
        throw new PublishUnavailableError('injected: no acknowledgement');
      }
      return {};
    },
  };
  const outbox = new RunFinishedOutbox({ bus: bus as never, models, clock: () => now, log: silentLogger(), retryMs: 100 });
  return { outbox, records, deleted, sent, advance: (ms: number) => (now += ms), now: () => now };
}

test('a final run is announced at once and recorded with its plan; others are not announced', async () => {
  const { outbox, records, sent } = fakes();
  outbox.add(finishedRun('p1', 'h1', 0));
  outbox.add(testRun('p1', 'h2', 1, { state: 'excluded' }));
  outbox.add(testRun('p1', 'h3', 2, { state: 'active' }));
  assert.equal(sent.length, 1);
  assert.equal(outbox.announcing('p1'), true);
  await settle();
  assert.deepEqual(
    records.map((r) => [r.key, r.planId]),
    [['p1/h1', 'p1']],
  );
  assert.equal(outbox.announcing('p1'), false);
  assert.equal(outbox.size, 0);
});

test('an unacknowledged announcement is sent again once retryMs has passed, not before', async () => {
  const { outbox, records, sent, advance, now } = fakes({ failFirst: 1 });
  const run = finishedRun('p1', 'h1', 0);
  outbox.add(run);
  await settle();
  assert.equal(records.length, 0);
  outbox.tick(now() + 50);
  assert.equal(sent.length, 1, 'not yet due');
  advance(100);
  outbox.tick(now());
  await settle();
  assert.deepEqual(sent, [run.runId, run.runId]);
  assert.equal(records.length, 1);
  assert.equal(outbox.announcing('p1'), false);
});

test('a plan is announcing while any of its runs waits; other plans are not', async () => {
  const { outbox } = fakes({ failFirst: 2 });
  outbox.add(finishedRun('p1', 'h1', 0));
  outbox.add(finishedRun('p1', 'h2', 1));
  await settle();
  assert.equal(outbox.announcing('p1'), true);
  assert.equal(outbox.announcing('p2'), false);
});

test('load puts back only the final runs never recorded as announced', async () => {
  const a = finishedRun('p1', 'h1', 0);
  const b = finishedRun('p1', 'h2', 1, 'failed');
  const pending = testRun('p1', 'h3', 2);
  const { outbox, sent, now } = fakes({ announced: [a.runId] });
  await outbox.load([a, b, pending]);
  assert.equal(outbox.size, 1);
  outbox.tick(now());
  assert.deepEqual(sent, [b.runId]);
});

test('at most maxInFlight announcements are in flight; a tick fills freed room', async () => {
  const releases: (() => void)[] = [];
  const bus = { publishDurable: () => new Promise((resolve) => releases.push(() => resolve({}))) };
  const models = { RunAnnounced: { create: async () => ({}) } } as unknown as Pick<Models, 'RunAnnounced'>;
  const outbox = new RunFinishedOutbox({ bus: bus as never, models, clock: () => 0, log: silentLogger(), retryMs: 0, maxInFlight: 3 });
  for (let i = 0; i < 10; i++) outbox.add(finishedRun('p1', `h${i}`, i));
  outbox.tick(0);
  assert.equal(releases.length, 3);
  for (const release of releases.splice(0, 2)) release();
  await settle();
  outbox.tick(0);
  assert.equal(releases.length, 3, '2 done, 2 more started');
  assert.equal(outbox.size, 8);
});

test("forgetting all plans but the live ones deletes the others' announcements by planId", async () => {
  const { outbox, deleted } = fakes();
  await outbox.forgetAllBut(['p1']);
  assert.deepEqual(deleted, [{ planId: { $nin: ['p1'] } }]);
});
