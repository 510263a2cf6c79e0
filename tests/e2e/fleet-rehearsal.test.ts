// A 300-host rehearsal over 12 clusters: a canary, automatic promotion after a soak and 3
// waves, with injected upgrade failures rolled back. The recorded history must show the
// per-cluster and global limits never exceeded and the canary finished before wave 1.
// A second plan on a failure-prone pool shows the error budget stopping new starts exactly
// at the budget and never above it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PlanView } from '@yixing/scheduler/internal';
import { bearer } from '../fixtures/api-access.ts';
import { allSeqs, loadPlan, maxInFlightBy } from '../fixtures/history.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const durations = {
  'cluster-check': [10, 30],
  precheck: [40, 120],
  backup: [40, 120],
  upgrade: [150, 450],
  reboot: [40, 100],
  postcheck: [40, 100],
  rollback: [100, 200],
};

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
const fleets: ServiceProcess[] = [];

before(async () => {
  stack = await startStack('rehearsal');
  scheduler = await startScheduler(stack);
  fleets.push(
    await startFleet(stack, {
      size: 300,
      clusters: 12,
      pool: 'rehearsal',
      prefix: 'reh',
      sim: { seed: 'rehearsal', durations, failures: [{ step: 'upgrade', rate: 0.02 }], tickMs: 50 },
    }),
    await startFleet(stack, {
      size: 120,
      clusters: 12,
      pool: 'fragile',
      prefix: 'frg',
      sim: { seed: 'fragile', durations, failures: [{ step: 'upgrade', rate: 0.4 }], tickMs: 50 },
    }),
  );
  await waitForHosts(scheduler.api, 420);
});

after(async () => {
  for (const f of fleets) await f.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
});

async function waitForState(planId: string, states: string[]): Promise<PlanView> {
  return waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${planId}`);
      // A canary with a failure waits for an operator: approve, as one would after a look.
      if (p.state === 'waiting-approval') await api(scheduler.api, 'POST', `/v1/plans/${planId}/approve`);
      const c = p.counters;
      return {
        done: states.includes(p.state) && c.active === 0,
        value: p,
        state: `${p.state} ${c.succeeded}/${c.failed}/${c.inFlight}/${p.openPhase}`,
      };
    },
    { what: `plan ${planId} to reach ${states.join(' or ')}` },
  );
}

test('300 hosts, 12 clusters, canary and 3 waves: completes within every limit', async () => {
  const created = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'rehearsal',
    selector: { pool: 'rehearsal' },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 6 },
    promotion: { mode: 'auto', soakSeconds: 1 },
    waves: [{ percent: 20 }, { percent: 40 }, { percent: 40 }],
    limits: { maxInFlight: 40, perCluster: { count: 3 } },
    errorBudget: { plan: { count: 20 } },
    onFailure: 'rollback',
  });
  assert.deepEqual(
    created.phases.map((p) => p.size),
    [6, 60, 120, 114],
  );
  const done = await waitForState(created.id, ['completed']);
  const { runs } = await loadPlan(stack.db, created.id);
  assert.equal(runs.length, 300);
  assert.ok(
    runs.every((r) => r.state === 'succeeded' || r.state === 'failed'),
    'every host ends in a final state',
  );

  const perCluster = maxInFlightBy(runs, (r) => r.cluster);
  assert.equal(perCluster.size, 12);
  for (const [cluster, max] of perCluster) assert.ok(max <= 3, `cluster ${cluster} had ${max} hosts in flight, limit 3`);
  assert.ok((maxInFlightBy(runs, () => '*').get('*') ?? 0) <= 40);
  // The budget caps hosts in flight at what is left of it.
  assert.ok((maxInFlightBy(runs, () => '*').get('*') ?? 0) <= 20);

  // The canary finished (and soaked) before any wave-1 host was taken.
  const canaryEnd = Math.max(
    ...runs.filter((r) => r.phase === 0).flatMap((r) => r.slots.map((s) => s.releasedSeq ?? Number.POSITIVE_INFINITY)),
  );
  const wavesStart = Math.min(...runs.filter((r) => r.phase > 0).flatMap((r) => r.slots.map((s) => s.takenSeq)));
  assert.ok(canaryEnd < wavesStart, `canary ended at seq ${canaryEnd}, waves started at ${wavesStart}`);

  const seqs = allSeqs(runs);
  assert.equal(new Set(seqs).size, seqs.length, 'sequence numbers are unique');

  // Failed upgrades were rolled back, and counted as execution failures.
  const failed = runs.filter((r) => r.state === 'failed');
  assert.ok(failed.length > 0, 'the 2 % injected failures produced some failures');
  for (const r of failed) {
    assert.equal(r.failure?.step, 'upgrade');
    assert.equal(r.rollback, 'succeeded');
  }
  assert.equal(done.counters.failuresByKind.execution, failed.length);
  assert.equal(done.counters.succeeded + failed.length, 300);
  assert.equal(done.counters.rolledBack, failed.length);
});

test('the error budget stops new starts exactly at the budget, never above it', async () => {
  const budget = 8;
  const created = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'fragile',
    selector: { pool: 'fragile' },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 2 },
    promotion: { mode: 'auto', soakSeconds: 0 },
    waves: [{ percent: 50 }, { percent: 50 }],
    limits: { maxInFlight: 30, perCluster: { count: 2 } },
    errorBudget: { plan: { count: budget } },
  });
  // A failing canary stops at the approval gate; approve it to reach the waves.
  await waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${created.id}`);
      if (p.state === 'waiting-approval') await api(scheduler.api, 'POST', `/v1/plans/${created.id}/approve`);
      return { done: p.state === 'budget-exhausted' && p.counters.active === 0, value: p, state: `${p.state} ${p.counters.failures}` };
    },
    { what: 'the fragile plan to exhaust its budget' },
  );
  const { plan, runs } = await loadPlan(stack.db, created.id);
  assert.equal(plan.state, 'budget-exhausted');
  const failures = runs.filter((r) => r.failure !== null);
  assert.equal(failures.length, budget, 'failures reach the budget exactly');
  assert.ok(
    runs.some((r) => r.state === 'pending'),
    'hosts were left unstarted',
  );

  // Every take happened before the failure that used up the budget.
  const lastFailureSeq = Math.max(...failures.map((r) => r.failure?.seq ?? 0));
  const lastTake = Math.max(...runs.flatMap((r) => r.slots.map((s) => s.takenSeq)));
  assert.ok(lastTake < lastFailureSeq, `a host was taken (seq ${lastTake}) after the budget was used up (seq ${lastFailureSeq})`);

  // Replaying the history: failures plus unfailed hosts in flight never passed the budget.
  const events: { seq: number; d: number }[] = [];
  for (const r of runs) {
    for (const s of r.slots) {
      events.push({ seq: s.takenSeq, d: 1 });
      // A host stops being "in flight and not failed" when it fails or is released, whichever is first.
      const end = Math.min(r.failure?.seq ?? Number.POSITIVE_INFINITY, s.releasedSeq ?? Number.POSITIVE_INFINITY);
      if (end !== Number.POSITIVE_INFINITY) events.push({ seq: end, d: -1 });
    }
    if (r.failure) events.push({ seq: r.failure.seq, d: 1 });
  }
  let exposure = 0;
  for (const e of events.sort((a, b) => a.seq - b.seq)) {
    exposure += e.d;
    assert.ok(exposure <= budget, `failed + in flight reached ${exposure} at seq ${e.seq}, above the budget ${budget}`);
  }

  // Operators cannot simply resume past an exhausted budget.
  const res = await fetch(new URL(`/v1/plans/${created.id}/resume`, scheduler.api), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer('operator') },
    body: '{}',
  });
  assert.equal(res.status, 409);
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /error budget exhausted: 8 of 8/);
});
