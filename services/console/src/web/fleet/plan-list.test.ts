import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanView } from '@yixing/scheduler';
import { applyPlanSnapshot, fleetTotals, type PlanSummary, plansToFollow, waveProgress } from './plan-list.ts';

const ZERO = { active: 0, held: 0, succeeded: 0, failed: 0, excluded: 0, inFlight: 0, failures: 0 };
const counts = (o: Partial<PlanSummary['counters']> = {}): PlanSummary['counters'] => ({ total: 10, pending: 10, ...ZERO, ...o });

const plan = (id: string, state: PlanSummary['state'], c = counts()): PlanSummary => ({
  id,
  name: `plan ${id}`,
  state,
  stateReason: '',
  createdAt: '2026-12-06T00:00:00.000Z',
  createdBy: 'alice',
  finishedAt: null,
  profile: 'debian11-to-12',
  hostCount: c.total,
  openPhase: 0,
  gate: null,
  budget: { limit: 2, used: 0, remaining: 2 },
  percentDone: 0,
  counters: c,
  phaseCount: 3,
});

test("a plan snapshot replaces that plan's progress, state and budget; other rows stay", () => {
  const before = [plan('a', 'running'), plan('b', 'running')];
  const view = {
    ...plan('a', 'budget-exhausted'),
    budget: { limit: 2, used: 2, remaining: 0 },
    percentDone: 40,
    // The view's counters have more fields than a summary's; only the summary's are kept.
    counters: { ...counts({ pending: 6, succeeded: 2, failed: 2, failures: 2 }), extra: 1 },
    openPhase: 1,
    phases: [{}, {}],
  } as unknown as PlanView;
  const after = applyPlanSnapshot(before, view);
  assert.equal(after[0]?.state, 'budget-exhausted');
  assert.equal(after[0]?.percentDone, 40);
  assert.deepEqual(after[0]?.budget, { limit: 2, used: 2, remaining: 0 });
  assert.deepEqual(after[0]?.counters, counts({ pending: 6, succeeded: 2, failed: 2, failures: 2 }));
  assert.deepEqual([after[0]?.openPhase, after[0]?.phaseCount], [1, 2]);
  assert.equal(after[1], before[1]);
  assert.deepEqual(applyPlanSnapshot(before, { ...view, id: 'zzz' }), before);
});

test('totals count plans by state and add up hosts', () => {
  const t = fleetTotals([
    plan('a', 'running', counts({ pending: 5, succeeded: 3, failed: 1, inFlight: 1 })),
    plan('b', 'completed', counts({ pending: 0, succeeded: 10 })),
  ]);
  assert.equal(t.plansByState.running, 1);
  assert.equal(t.plansByState.completed, 1);
  assert.equal(t.plansByState.aborted, 0);
  assert.deepEqual(t.hosts, { total: 20, succeeded: 13, failed: 1, inFlight: 1, pending: 5 });
});

test('only plans that still change are followed, at most the cap', () => {
  const plans = [plan('a', 'completed'), plan('b', 'running'), plan('c', 'paused'), plan('d', 'aborted'), plan('e', 'waiting-approval')];
  assert.deepEqual(plansToFollow(plans, 2), ['b', 'c']);
  assert.deepEqual(plansToFollow(plans, 10), ['b', 'c', 'e']);
});

test('a plan reads in its canary, or in wave N of M (phase 0 is the canary); nothing without phases', () => {
  assert.deepEqual(waveProgress({ openPhase: 0, phaseCount: 3 }), { phase: 'canary', waves: 2 });
  assert.deepEqual(waveProgress({ openPhase: 1, phaseCount: 3 }), { phase: 'wave', n: 1, of: 2 });
  assert.deepEqual(waveProgress({ openPhase: 2, phaseCount: 3 }), { phase: 'wave', n: 2, of: 2 });
  assert.deepEqual(waveProgress({ openPhase: 0, phaseCount: 1 }), { phase: 'canary', waves: 0 });
  assert.equal(waveProgress({ openPhase: 0, phaseCount: 0 }), null);
});
