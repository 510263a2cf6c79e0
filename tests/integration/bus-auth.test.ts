// Bus identities enforced by nats-server itself (decentralized JWT auth, bus-trust.ts):
// an agent speaks only for its own host and hears only its own commands; only the
// scheduler commands agents; no agent reads a stream or the backup bucket. Every refusal
// here is the broker's, not the receiving code's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { type NatsConnection, PermissionViolationError } from '@nats-io/transport-node';
import {
  agentInboxPrefix,
  Bus,
  BusPermissionError,
  catalog,
  connectBus,
  createRegistry,
  ensureStreams,
  Step,
  StepPhase,
  serviceInboxPrefix,
  silentLogger,
  subjectPattern,
} from '@yixing/common';
import { FIXTURE_BACKUP_BUCKET, type NatsFixture, startNats } from '../fixtures/nats.ts';
import { waitUntil } from '../fixtures/wait.ts';

let nats: NatsFixture;
const conns: NatsConnection[] = [];

async function agentBus(hostId: string): Promise<Bus> {
  const auth = nats.auth;
  assert.ok(auth);
  const nc = await connectBus({
    servers: nats.url,
    name: hostId,
    creds: await auth.agentCreds(hostId),
    inboxPrefix: agentInboxPrefix(hostId),
  });
  conns.push(nc);
  return new Bus({ nc, log: silentLogger(), registry: createRegistry('test') });
}

async function serviceBus(who: 'scheduler' | 'backup'): Promise<Bus> {
  const auth = nats.auth;
  assert.ok(auth);
  const nc = await connectBus({ servers: nats.url, name: who, creds: await auth.creds(who), inboxPrefix: serviceInboxPrefix(who) });
  conns.push(nc);
  return new Bus({ nc, log: silentLogger(), registry: createRegistry('test') });
}

/** The permission violations the server reported to a connection, by subject. */
function violations(nc: NatsConnection): Set<string> {
  const seen = new Set<string>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error instanceof PermissionViolationError) seen.add(s.error.subject);
    }
  })();
  return seen;
}

let admin: NatsConnection;
let scheduler: Bus;
let a: Bus;
let b: Bus;

before(async () => {
  nats = await startNats({ auth: true });
  const auth = nats.auth;
  assert.ok(auth);
  admin = await connectBus({ servers: nats.url, name: 'admin', creds: await auth.creds('admin') });
  conns.push(admin);
  scheduler = await serviceBus('scheduler');
  await ensureStreams(scheduler.nc);
  [a, b] = await Promise.all([agentBus('host-a'), agentBus('host-b')]);
});

after(async () => {
  await Promise.all(conns.map((c) => c.close()));
  await nats?.stop();
});

const heartbeat = (hostId: string, seq: number) => ({ hostId, seq, atMs: Date.now(), bootId: 'boot' });

test('agent A can publish neither a heartbeat nor a log line as host B: the broker drops them', async () => {
  const refused = violations(a.nc);
  const seen: string[] = [];
  admin.subscribe(catalog.heartbeat.filter, { callback: (_e, m) => void seen.push(m.subject) });
  admin.subscribe(catalog.logLine.filter, { callback: (_e, m) => void seen.push(m.subject) });
  await admin.flush();

  a.publish('heartbeat', heartbeat('host-b', 1));
  a.publish('logLine', { hostId: 'host-b', runId: 'run-b', seq: 1, text: 'forged' });
  // A's own heartbeat after them: one connection's messages arrive in order, so once it
  // is seen, the forged ones would have been seen before it.
  a.publish('heartbeat', heartbeat('host-a', 2));
  await waitUntil(
    async () => ({ done: seen.includes(subjectPattern('heartbeat', { hostId: 'host-a' })), value: seen, state: seen.join() }),
    {
      what: "A's own heartbeat",
    },
  );
  assert.deepEqual(seen, [subjectPattern('heartbeat', { hostId: 'host-a' })]);
  await waitUntil(async () => ({ done: refused.size === 2, value: refused, state: [...refused].join() }), { what: 'two refusals' });
  assert.deepEqual([...refused].sort(), [subjectPattern('heartbeat', { hostId: 'host-b' }), 'yx.v1.log.host-b.run-b'].sort());
});

test("agent A cannot publish a step event as host B: refused, and nothing reaches B's subjects in the stream", async () => {
  const forged = {
    eventId: 'forged-1',
    hostId: 'host-b',
    runId: 'run-b',
    commandId: 'run-b.0.upgrade.1',
    step: Step.UPGRADE,
    phase: StepPhase.FAILED,
    kindToken: 'failed',
  };
  await assert.rejects(a.publishDurable('stepEvent', forged, forged.eventId), BusPermissionError);
  const own = { ...forged, eventId: 'own-1', hostId: 'host-a', runId: 'run-a', commandId: 'run-a.0.upgrade.1' };
  const ack = await a.publishDurable('stepEvent', own, own.eventId);
  assert.equal(ack.stream, catalog.stepEvent.stream);
  const jsm = await jetstreamManager(admin);
  const info = await jsm.streams.info(catalog.stepEvent.stream, { subjects_filter: '>' });
  assert.deepEqual(Object.keys(info.state.subjects ?? {}), ['yx.v1.evt.host.host-a.failed']);
});

test("agent A cannot subscribe to host B's commands; B gets them from the scheduler", async () => {
  let heardByA = 0;
  const stolen = a.subscribe('agentCommand', { hostId: 'host-b' }, () => {
    heardByA++;
  });
  let ended: unknown;
  void stolen.closed.then((v) => {
    ended = v;
  });
  // The server answers the subscription before the flush's ping: a refusal has arrived by now.
  await a.nc.flush();
  assert.ok(ended instanceof PermissionViolationError, `the subscription ended with ${String(ended)}`);

  b.subscribe('agentCommand', { hostId: 'host-b' }, (cmd, d) => d.respond({ commandId: cmd.commandId, accepted: true }));
  await b.nc.flush();
  const ack = await scheduler.request('agentCommand', { commandId: 'c-1', hostId: 'host-b', runId: 'run-b' });
  assert.equal(ack.accepted, true);
  assert.equal(heardByA, 0);
});

test('no identity but the scheduler can command an agent, not even the agent itself', async () => {
  const backup = await serviceBus('backup');
  const cmd = { commandId: 'c-2', hostId: 'host-a', runId: 'run-a' };
  await assert.rejects(b.request('agentCommand', cmd, 1_000), BusPermissionError);
  await assert.rejects(a.request('agentCommand', cmd, 1_000), BusPermissionError);
  await assert.rejects(backup.request('agentCommand', cmd, 1_000), BusPermissionError);
  // Nor publish what only the scheduler and the backup service say.
  await assert.rejects(
    a.publishDurable(
      'runFinished',
      { eventId: 'rf-1', hostId: 'host-a', runId: 'run-a', planId: 'p', state: 'succeeded', atMs: 1 },
      'rf-1',
    ),
    BusPermissionError,
  );
  await assert.rejects(
    a.publishDurable('backupEvent', { eventId: 'be-1', hostId: 'host-a', backupId: 'b-20261206-000000000001', state: 2 }, 'be-1'),
    BusPermissionError,
  );
});

test('an agent reads no stream and no backup bucket, and cannot purge or delete them', async () => {
  const refused = violations(a.nc);
  const jsm = await jetstreamManager(a.nc, { timeout: 2_000 }).catch((e: unknown) => e);
  assert.ok(jsm instanceof Error, 'the JetStream API is closed to agents');
  for (const subject of [
    `$JS.API.STREAM.INFO.${catalog.logLine.stream}`,
    `$JS.API.STREAM.PURGE.${catalog.stepEvent.stream}`,
    `$JS.API.STREAM.DELETE.OBJ_${FIXTURE_BACKUP_BUCKET}`,
    `$JS.API.CONSUMER.CREATE.${catalog.logLine.stream}`,
  ]) {
    await assert.rejects(a.nc.request(subject, '{}', { timeout: 1_000 }), subject);
  }
  await assert.rejects(new Objm(a.js).open(FIXTURE_BACKUP_BUCKET));
  assert.ok(refused.has(`$JS.API.STREAM.PURGE.${catalog.stepEvent.stream}`));
});
