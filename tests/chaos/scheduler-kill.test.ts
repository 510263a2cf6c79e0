// The scheduler is SIGKILLed at random moments of a run, 5 times, and started again each
// time. Every host must still end in a final state, no step may have run twice on any
// host (the agents' journals record every execution), and no event may be lost: what the
// scheduler recorded for each host is exactly what the host's agent executed.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlanView } from '@yixing/scheduler/internal';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { assertRunsExact, chaosPlan, chaosSim } from '../fixtures/run-checks.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let journal: string;

before(async () => {
  stack = await startStack('scheduler-kill');
  journal = path.join(stack.dir, 'journal.jsonl');
  scheduler = await startScheduler(stack, {}, 'scheduler-0');
  fleet = await startFleet(stack, {
    size: 120,
    clusters: 6,
    pool: 'chaos',
    prefix: 'chs',
    journal,
    sim: chaosSim('scheduler-kill'),
  });
  await waitForHosts(scheduler.api, 120);
});

after(async () => {
  await fleet?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
});

test('SIGKILL the scheduler 5 times mid-run: every host final, no step twice, no event lost', async () => {
  const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', chaosPlan('chaos', 'chaos'));

  const kills: number[] = [];
  for (let i = 1; i <= 5; i++) {
    // A random moment: between 1 and 4 seconds into this stretch of the run.
    await sleep(1000 + Math.floor(Math.random() * 3000));
    const before = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
    kills.push(before.counters.succeeded + before.counters.failed);
    assert.equal(await scheduler.proc.kill('SIGKILL'), 'SIGKILL');
    scheduler = await startScheduler(stack, {}, `scheduler-${i}`);
  }
  assert.ok(
    kills.some((k) => k < 120),
    `the kills happened while hosts were still migrating (${kills.join(', ')} done at each kill)`,
  );

  const done = await waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
      // An injected failure may land in the canary, which then waits for an operator.
      if (p.state === 'waiting-approval') await api(scheduler.api, 'POST', `/v1/plans/${plan.id}/approve`);
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
    },
    { what: 'the plan to complete after the kills' },
  );
  assert.equal(done.counters.succeeded + done.counters.failed, 120);

  await assertRunsExact(stack.db, plan.id, journal);
});
