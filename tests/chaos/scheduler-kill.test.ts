// The scheduler is SIGKILLed at random moments of a run, 5 times, and started again each
// time. Every host must still end in a final state, no step may have run twice on any
// host (the agents' journals record every execution), and no event may be lost: what the
// scheduler recorded for each host is exactly what the host's agent executed.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalEntry } from '@yixing/host-agent';
import type { PlanView } from '@yixing/scheduler/internal';
import { loadPlan } from '../fixtures/history.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
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
    sim: {
      seed: 'scheduler-kill',
      durations: {
        'cluster-check': [20, 60],
        precheck: [100, 300],
        backup: [100, 300],
        upgrade: [400, 1200],
        reboot: [100, 300],
        postcheck: [100, 300],
        rollback: [300, 600],
      },
      failures: [{ step: 'upgrade', rate: 0.05 }],
      tickMs: 100,
    },
  });
  await waitForHosts(scheduler.api, 120);
});

after(async () => {
  await fleet?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
});

test('SIGKILL the scheduler 5 times mid-run: every host final, no step twice, no event lost', async () => {
  const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'chaos',
    selector: { pool: 'chaos' },
    profile: 'debian-11-to-12',
    canary: { count: 4 },
    promotion: { mode: 'auto', soakSeconds: 0 },
    waves: [{ percent: 50 }, { percent: 50 }],
    limits: { maxInFlight: 24, perCluster: { count: 4 } },
    errorBudget: { plan: { count: 30 } },
    // No retries: a step that ran twice could only be a duplicated command.
    steps: { retries: { 'cluster-check': 0, precheck: 0, backup: 0, upgrade: 0, reboot: 0, postcheck: 0, rollback: 0 } },
  });

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

  const { runs } = await loadPlan(stack.db, plan.id);
  const entries = (await readFile(journal, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEntry);

  // No step ran twice: one `run` per (host, run, step) and per command id.
  const runsByStep = new Map<string, number>();
  const runsByCommand = new Map<string, number>();
  for (const e of entries.filter((x) => x.event === 'run')) {
    const k = `${e.hostId}/${e.runId}/${e.step}`;
    runsByStep.set(k, (runsByStep.get(k) ?? 0) + 1);
    runsByCommand.set(e.commandId, (runsByCommand.get(e.commandId) ?? 0) + 1);
  }
  for (const [k, n] of runsByStep) assert.equal(n, 1, `${k} ran ${n} times`);
  for (const [k, n] of runsByCommand) assert.equal(n, 1, `command ${k} ran ${n} times`);

  // No event lost: each host's recorded steps are exactly what its agent finished.
  const finished = new Map<string, { commandId: string; ok: boolean }[]>();
  for (const e of entries.filter((x) => x.event === 'finish')) {
    const list = finished.get(e.hostId) ?? [];
    list.push({ commandId: e.commandId, ok: e.ok === true });
    finished.set(e.hostId, list);
  }
  for (const run of runs) {
    assert.ok(run.state === 'succeeded' || run.state === 'failed', `${run.hostId} ended ${run.state}`);
    const recorded = run.history.map((h) => ({ commandId: h.commandId, ok: h.outcome === 'succeeded' }));
    assert.deepEqual(recorded, finished.get(run.hostId) ?? [], `history of ${run.hostId} differs from what its agent executed`);
    const last = run.history.at(-1);
    if (run.state === 'succeeded') assert.equal(last?.step, 'postcheck');
    else assert.equal(last?.step, 'rollback');
  }
});
