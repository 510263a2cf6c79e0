// A 3-node NATS cluster (bus authentication, every stream and the lease bucket with 3
// replicas) under two scheduler replicas and a simulated fleet. Mid-plan, the node that
// leads most of what the scheduler leans on (the step-event consumer, the event stream,
// the lease bucket's stream) is SIGKILLed, and later restarted on its own store. Every
// host must end final, no step may run twice and no event may be lost. A leader that
// cannot renew its lease while the lease stream elects a new leader stops itself (75),
// as designed; the test brings it back, as a supervisor would.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { catalog, connectBus, durableNames, kvSubjects, LEASE_BUCKET } from '@yixing/common';
import type { PlanView } from '@yixing/scheduler/internal';
import type { NatsClusterFixture } from '../fixtures/nats-cluster.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { assertRunsExact, chaosPlan, chaosSim } from '../fixtures/run-checks.ts';
import { type Replica, SchedulerReplicas } from '../fixtures/scheduler-replicas.ts';
import { api, type Stack, startFleet, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

/** Short lease timings, so that a take-over happens within the test's seconds. */
const LEASE = { YX_LEASE_TTL_MS: '3000', YX_LEASE_RENEW_MS: '500', YX_LEASE_DEADLINE_MS: '2000' };
const HOSTS = 90;
const EVENTS_STREAM = catalog.stepEvent.stream;
const LEASE_STREAM = kvSubjects(LEASE_BUCKET).stream;

let stack: Stack;
let cluster: NatsClusterFixture;
let fleet: ServiceProcess;
let journal: string;
let nc: NatsConnection;
let replicas: SchedulerReplicas;

/** The replica that says it leads, once exactly one does. */
async function leaderReplica(): Promise<Replica> {
  return (await replicas.leaderAndFollower()).leader;
}

/** Asks JetStream until it answers: during an election even an info request times out. */
async function untilAnswered<T>(what: string, fn: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
  return waitUntil(
    async () => {
      try {
        return { done: true, value: await fn(await jetstreamManager(nc, { timeout: 2000 })), state: 'answered' };
      } catch (err) {
        return { done: false, value: undefined as T, state: `${(err as Error).name}: ${(err as Error).message}` };
      }
    },
    { what, intervalMs: 250, stallMs: 60_000 },
  );
}

/** Who leads what the scheduler leans on: its step consumer, the event stream and the lease stream. */
async function leaders(): Promise<Record<string, string>> {
  return untilAnswered('the leaders of the scheduler streams', async (jsm) => {
    const found = {
      consumer: (await jsm.consumers.info(EVENTS_STREAM, durableNames.schedulerSteps)).cluster?.leader,
      events: (await jsm.streams.info(EVENTS_STREAM)).cluster?.leader,
      lease: (await jsm.streams.info(LEASE_STREAM)).cluster?.leader,
    };
    const missing = Object.entries(found).filter(([, v]) => !v);
    if (missing.length > 0) throw new Error(`no leader yet of ${missing.map(([k]) => k).join(', ')}`);
    return found as Record<string, string>;
  });
}

/** The plan as the leader has it; an injected failure in the canary waits for an operator, who approves. */
async function progress(planId: string): Promise<PlanView> {
  const leader = await leaderReplica();
  const p = await api<PlanView>(leader.api, 'GET', `/v1/plans/${planId}`);
  if (p.state === 'waiting-approval') await api(leader.api, 'POST', `/v1/plans/${planId}/approve`);
  return p;
}

const doneOf = (p: PlanView): number => p.counters.succeeded + p.counters.failed;

before(async () => {
  stack = await startStack('nats-node-kill', { natsCluster: 3 });
  cluster = stack.natsCluster as NatsClusterFixture;
  const creds = await stack.nats.auth?.creds('admin');
  nc = await connectBus({ servers: cluster.urls, name: 'nats-node-kill-test', ...(creds ? { creds } : {}) });
  journal = path.join(stack.dir, 'journal.jsonl');
  replicas = new SchedulerReplicas(stack, LEASE);
  await replicas.add('sched-a');
  await replicas.add('sched-b');
  fleet = await startFleet(stack, {
    size: HOSTS,
    clusters: 6,
    pool: 'natskill',
    prefix: 'nk',
    journal,
    sim: chaosSim('nats-node-kill'),
  });
  await waitForHosts((replicas.list[0] as Replica).api, HOSTS);
});

after(async () => {
  await fleet?.kill();
  await replicas?.stop();
  await nc?.close().catch(() => undefined);
  await stack?.stop();
});

test('the NATS node leading the scheduler streams killed and restarted mid-plan: no step twice, no event lost', async () => {
  // The lease bucket and the event stream are on every node, so one node's loss loses nothing.
  const replicated = await untilAnswered('stream configurations', async (jsm) => ({
    lease: (await jsm.streams.info(LEASE_STREAM)).config.num_replicas,
    events: (await jsm.streams.info(EVENTS_STREAM)).config.num_replicas,
  }));
  assert.deepEqual(replicated, { lease: 3, events: 3 });

  const plan = await api<PlanView>((await leaderReplica()).api, 'POST', '/v1/plans', chaosPlan('nats-node-kill', 'natskill'));
  const planAt = performance.now();
  const started = await waitUntil(
    async () => {
      const p = await progress(plan.id);
      return { done: doneOf(p) >= 8, value: doneOf(p), state: `${p.state} ${doneOf(p)}` };
    },
    { what: 'the plan under way' },
  );

  // The node leading the most of them; ties go to the consumer's leader.
  const led = await leaders();
  const votes = new Map<string, number>();
  for (const node of Object.values(led)) votes.set(node, (votes.get(node) ?? 0) + 1);
  const victim = [...votes].sort((a, b) => b[1] - a[1] || (a[0] === led.consumer ? -1 : 1))[0]?.[0] as string;
  const doneAtKill = doneOf(await progress(plan.id));
  const beforeKillMs = Math.round(performance.now() - planAt);
  const killedAt = performance.now();
  await cluster.kill(victim);

  // Down while the plan goes on: the scheduler keeps finishing hosts through the other two nodes.
  let firstAfterKillMs = -1;
  const doneWhileDown = await waitUntil(
    async () => {
      const p = await progress(plan.id);
      if (firstAfterKillMs < 0 && doneOf(p) > doneAtKill) firstAfterKillMs = Math.round(performance.now() - killedAt);
      return {
        done: doneOf(p) >= Math.min(HOSTS, doneAtKill + 10) || p.state === 'completed',
        value: doneOf(p),
        state: `${p.state} ${doneOf(p)}`,
      };
    },
    { what: 'hosts finishing with a node down' },
  );
  const downForMs = Math.round(performance.now() - killedAt);
  const afterKill = await leaders();
  assert.ok(!Object.values(afterKill).includes(victim), `a surviving node took over every leadership (${JSON.stringify(afterKill)})`);

  await cluster.restart(victim);
  // Rejoined on its own store: a current replica of the streams again.
  await untilAnswered(`${victim} current again`, async (jsm) => {
    for (const stream of [EVENTS_STREAM, LEASE_STREAM]) {
      const peers = [(await jsm.streams.info(stream)).cluster].flatMap((c) => [
        ...(c?.leader ? [{ name: c.leader, current: true }] : []),
        ...(c?.replicas ?? []),
      ]);
      if (!peers.some((p) => p.name === victim && p.current)) throw new Error(`${victim} not current in ${stream}`);
    }
  });
  const doneAtRestart = doneOf(await progress(plan.id));

  const done = await waitUntil(
    async () => {
      const p = await progress(plan.id);
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
    },
    { what: 'the plan to complete after the node came back' },
  );
  assert.ok(doneAtKill < HOSTS && doneAtRestart < HOSTS, `the node was down mid-plan (${doneAtKill}, ${doneAtRestart} of ${HOSTS} done)`);
  assert.equal(doneOf(done), HOSTS);
  await assertRunsExact(stack.db, plan.id, journal);
  process.stdout.write(
    `killed ${victim} (leading ${JSON.stringify(led)}) at ${doneAtKill}/${HOSTS} done, ${beforeKillMs} ms into the plan ` +
      `(${started} when first seen under way); first host done after the kill at ${firstAfterKillMs} ms; ` +
      `${doneWhileDown} done ${downForMs} ms after it; restarted at ${doneAtRestart}; ` +
      `replicas that stopped themselves: ${replicas.selfStops.join(', ') || 'none'}; failed starts: ${replicas.failedStarts.join(', ') || 'none'}\n`,
  );
});
