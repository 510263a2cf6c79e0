// An agent killed (SIGKILL) in the middle of a long upgrade and started again resumes the
// step from its last checkpoint and finishes it: the step is not started a second time,
// and the host ends migrated.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { JournalEntry } from '@yixing/host-agent';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type FleetOptions, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let fleetOpts: FleetOptions;

before(async () => {
  stack = await startStack('agent-kill');
  scheduler = await startScheduler(stack);
  fleetOpts = {
    size: 2,
    clusters: 2,
    pool: 'agentkill',
    prefix: 'akl',
    journal: path.join(stack.dir, 'journal.jsonl'),
    sim: {
      seed: 'agent-kill',
      durations: { 'cluster-check': 20, precheck: 50, backup: 50, upgrade: 6000, reboot: 100, postcheck: 50, rollback: 500 },
      tickMs: 200,
    },
  };
  fleet = await startFleet(stack, fleetOpts, 'fleet-0');
  await waitForHosts(scheduler.api, 2);
});

after(async () => {
  await fleet?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
});

test('an agent killed mid-upgrade resumes the step after a restart and finishes', async () => {
  const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'agent-kill',
    selector: { pool: 'agentkill' },
    profile: 'debian-11-to-12',
    canary: { count: 2 },
    limits: { maxInFlight: 2 },
    errorBudget: { plan: { count: 1 } },
  });
  // The budget of 1 lets one host in flight at a time: wait until it is well into its upgrade.
  const victim = await waitUntil(
    async () => {
      const { hosts } = await api<{ hosts: RunView[] }>(scheduler.api, 'GET', `/v1/plans/${plan.id}/hosts`);
      const h = hosts.find((r) => r.step === 'upgrade' && r.stepState === 'running' && (r.percent ?? 0) >= 20);
      return { done: h !== undefined, value: h as RunView, state: hosts.map((r) => `${r.state}:${r.step}:${r.percent}`).join(' ') };
    },
    { what: 'a host 20 % into its upgrade' },
  );
  assert.equal(await fleet.kill('SIGKILL'), 'SIGKILL');
  fleet = await startFleet(stack, fleetOpts, 'fleet-1');

  await waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
    },
    { what: 'the plan to complete' },
  );

  const { runs } = await api<{ runs: RunView[] }>(scheduler.api, 'GET', `/v1/hosts/${victim.hostId}`);
  const run = runs.find((r) => r.planId === plan.id) as RunView;
  assert.equal(run.state, 'succeeded');
  assert.deepEqual(
    run.history.map((h) => `${h.step}:${h.attempt}:${h.outcome}`),
    [
      'cluster-check:1:succeeded',
      'precheck:1:succeeded',
      'backup:1:succeeded',
      'upgrade:1:succeeded',
      'reboot:1:succeeded',
      'postcheck:1:succeeded',
    ],
  );

  const journal = (await readFile(fleetOpts.journal as string, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEntry)
    .filter((e) => e.hostId === victim.hostId && e.step === 'upgrade');
  assert.deepEqual(
    journal.map((e) => e.event),
    ['run', 'resume', 'finish'],
  );
  assert.equal(journal.at(-1)?.ok, true);

  // It resumed from its checkpoint, not from the start.
  const { lines } = await api<{ lines: { text: string }[] }>(
    scheduler.api,
    'GET',
    `/v1/hosts/${victim.hostId}/logs?runId=${run.runId}&step=upgrade`,
  );
  const resumed = lines.map((l) => /resuming upgrade at (\d+) of (\d+) ms/.exec(l.text)).find(Boolean);
  assert.ok(resumed, 'the agent logged where it resumed');
  assert.ok(Number(resumed[1]) >= 1200, `resumed at ${resumed[1]} ms, expected at least 20 % of 6000 ms`);
});
