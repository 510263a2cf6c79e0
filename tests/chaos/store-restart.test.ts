// FerretDB, the scheduler's store, is SIGKILLed mid-plan under load, kept down a few
// seconds and started again with the same data, three times. The scheduler rides it out
// (it neither exits nor forgets what it dispatched): every host must end final, no step
// may run twice and no event may be lost; events that arrived while the store was down
// are redelivered by the bus and recorded once it is back.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { assertRunsExact, chaosPlan, chaosSim } from '../fixtures/run-checks.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const HOSTS = 120;

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let journal: string;

before(async () => {
  stack = await startStack('store-restart');
  journal = path.join(stack.dir, 'journal.jsonl');
  scheduler = await startScheduler(stack, {}, 'scheduler');
  fleet = await startFleet(stack, {
    size: HOSTS,
    clusters: 6,
    pool: 'store',
    prefix: 'str',
    journal,
    sim: chaosSim('store-restart'),
  });
  await waitForHosts(scheduler.api, HOSTS);
});

after(async () => {
  await fleet?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
});

/** The plan as the scheduler reports it; undefined while it cannot answer (its store is down). */
async function planNow(id: string): Promise<PlanView | undefined> {
  try {
    return await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${id}`);
  } catch {
    return undefined;
  }
}

/** The hosts in flight, `host:step:stepState`: what a stall is stuck on. */
async function activeRuns(id: string): Promise<string> {
  const { hosts } = await api<{ hosts: RunView[] }>(scheduler.api, 'GET', `/v1/plans/${id}/hosts?state=active&limit=1000`);
  return hosts.map((h) => `${h.hostId}:${h.step}:${h.stepState}`).join(' ');
}

test('FerretDB SIGKILLed 3 times mid-plan and restarted: every host final, no step twice, no event lost', async () => {
  const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', chaosPlan('store-restart', 'store'));

  const kills: number[] = [];
  for (let i = 0; i < 3; i++) {
    // A random moment between 1 and 4 seconds into this stretch of the run.
    await sleep(1000 + Math.floor(Math.random() * 3000));
    const p = await waitUntil(
      async () => {
        const v = await planNow(plan.id);
        return { done: v !== undefined, value: v as PlanView, state: String(v?.state) };
      },
      { what: 'the scheduler to answer' },
    );
    kills.push(p.counters.succeeded + p.counters.failed);
    await stack.mongo.kill();
    // Down long enough for writes, heartbeats and results to pile up against it.
    await sleep(3000 + Math.floor(Math.random() * 2000));
    await stack.mongo.start();
  }
  assert.ok(
    kills.some((k) => k < HOSTS),
    `the kills happened while hosts were still migrating (${kills.join(', ')} done at each kill)`,
  );

  const done = await waitUntil(
    async () => {
      const p = await planNow(plan.id);
      if (p === undefined) return { done: false, value: plan, state: 'no answer' };
      // An injected failure may land in the canary, which then waits for an operator.
      if (p.state === 'waiting-approval') await api(scheduler.api, 'POST', `/v1/plans/${plan.id}/approve`);
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone} ${await activeRuns(plan.id)}` };
    },
    { what: 'the plan to complete after the store restarts' },
  );
  assert.equal(done.counters.succeeded + done.counters.failed, HOSTS);
  assert.equal(scheduler.proc.child.exitCode, null, 'the scheduler rode out the outages without exiting');

  await assertRunsExact(stack.db, plan.id, journal);
});
