// The 3-node cluster fixture: a replicated stream keeps accepting writes when a node,
// the stream's leader, is killed; and the services' own durable publishes (Bus) ride out
// that election with nothing lost or doubled.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  Bus,
  catalog,
  connectBus,
  createRegistry,
  defaultStreamLimits,
  ensureStreams,
  publishWithRetry,
  silentLogger,
} from '@yixing/common';
import { type NatsClusterFixture, startNatsCluster } from '../fixtures/nats-cluster.ts';
import { waitUntil } from '../fixtures/wait.ts';

const open: { cluster: NatsClusterFixture; nc: NatsConnection }[] = [];

after(async () => {
  for (const { cluster, nc } of open) {
    await nc.close().catch(() => undefined);
    await cluster.stop();
  }
});

async function startCluster(name: string): Promise<{ cluster: NatsClusterFixture; nc: NatsConnection }> {
  const cluster = await startNatsCluster(3);
  const nc = await connectBus({ servers: cluster.urls, name });
  open.push({ cluster, nc });
  return { cluster, nc };
}

/** A cluster that has not settled within this long is broken, whatever its errors do meanwhile. */
const SETTLE_DEADLINE_MS = 180_000;

/**
 * Runs `fn` until it succeeds; fails when its error stays the same for a while (a stuck
 * cluster), or at the deadline (an error that keeps alternating never stalls).
 */
async function untilDone<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + SETTLE_DEADLINE_MS;
  return waitUntil(
    async () => {
      try {
        return { done: true, value: await fn(), state: 'done' };
      } catch (err) {
        const last = `${(err as Error).name}: ${(err as Error).message}`;
        if (Date.now() > deadline) throw new Error(`${what}: not done within ${SETTLE_DEADLINE_MS} ms; last error ${last}`);
        return { done: false, value: undefined as T, state: last };
      }
    },
    { what, intervalMs: 250, stallMs: 60_000 },
  );
}

/** The stream's current leader, once it has one. */
async function leaderOf(nc: NatsConnection, stream: string): Promise<string> {
  return untilDone(`a leader of ${stream}`, async () => {
    // Inside the retries: during an election even the account info request times out.
    const jsm = await jetstreamManager(nc);
    const leader = (await jsm.streams.info(stream)).cluster?.leader;
    if (!leader) throw new Error('no leader yet');
    return leader;
  });
}

test('publishing to an R3 stream goes on after its leader is killed', async () => {
  const { cluster, nc } = await startCluster('cluster-test');
  const jsm = await jetstreamManager(nc);
  // Creating an R3 stream needs the cluster formed and a meta leader.
  await untilDone('the R3 stream created', () => jsm.streams.add({ name: 'REPL', subjects: ['repl.>'], num_replicas: 3 }));
  const js = jetstream(nc);
  // During a leader election a publish fails for a while; the message id makes a retry safe.
  const publish = (i: number) => publishWithRetry(js, `repl.${i}`, `m${i}`, `m${i}`, { deadlineMs: 120_000, attemptTimeoutMs: 2_000 });
  for (let i = 0; i < 50; i++) await publish(i);

  const leader = await leaderOf(nc, 'REPL');
  assert.equal((await jsm.streams.info('REPL')).cluster?.replicas?.length, 2);
  await cluster.kill(leader);

  for (let i = 50; i < 100; i++) await publish(i);

  const afterInfo = await jsm.streams.info('REPL');
  assert.equal(afterInfo.state.messages, 100);
  assert.notEqual(afterInfo.cluster?.leader, leader);
  assert.ok(afterInfo.cluster?.leader, 'a new leader was elected');
});

test("a service's durable publishes survive the event stream's leader being killed: none lost, none doubled", async () => {
  const { cluster, nc } = await startCluster('cluster-bus-test');
  await untilDone('the contract streams created with 3 replicas', () => ensureStreams(nc, { ...defaultStreamLimits, replicas: 3 }));
  const bus = new Bus({ nc, log: silentLogger(), registry: createRegistry('cluster-test', { processMetrics: false }) });
  const stream = catalog.runFinished.stream;
  const leader = await leaderOf(nc, stream);

  // Events as the scheduler publishes them (RunFinished), 8 at a time, while the leader dies.
  const total = 240;
  const failures: string[] = [];
  let acked = 0;
  let killed: Promise<void> | undefined;
  const publishOne = async (i: number): Promise<void> => {
    const eventId = `run-${i}.final`;
    try {
      await bus.publishDurable(
        'runFinished',
        { eventId, hostId: `h-${i}`, runId: `run-${i}`, planId: 'p-cluster', state: 'succeeded', atMs: Date.now() },
        eventId,
      );
      acked++;
    } catch (err) {
      failures.push(`${eventId}: ${(err as Error).name}: ${(err as Error).message}`);
    }
    if (acked === 40 && !killed) killed = cluster.kill(leader);
  };
  for (let i = 0; i < total; i += 8) await Promise.all(Array.from({ length: 8 }, (_, k) => publishOne(i + k)));
  await killed;

  assert.deepEqual(failures, [], 'every publish was acknowledged');
  const newLeader = await leaderOf(nc, stream);
  assert.notEqual(newLeader, leader, 'the publishes went on under a new leader');
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    ids.push(m?.header.get('Nats-Msg-Id') ?? `(no id at ${seq})`);
  }
  assert.equal(new Set(ids).size, ids.length, 'no event is stored twice');
  assert.deepEqual([...ids].sort(), Array.from({ length: total }, (_, i) => `run-${i}.final`).sort(), 'every event is stored once');
});
