// A plan's progress (docs/error-budget.md, "Halting" and "Phases"): completion, abort,
// the error budget of the plan and of a wave, the canary gate (manual, auto with a soak,
// and a canary failure) and waves opening, on a fake clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostRunDoc, PlanDoc } from '../db/models.ts';
import type { PlanSpec } from '../plans/plan-spec.ts';
import { activeRun, finishedRun, testPlan, testRun } from './engine.fixtures.ts';
import { budgetExhausted, nextPlanStep } from './plan-progress.ts';
import { PlanRuntime } from './plan-runtime.ts';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const PHASES = [
  { index: 0, name: 'canary', size: 1, budget: 1 },
  { index: 1, name: 'wave 1', size: 2, budget: 2 },
  { index: 2, name: 'wave 2', size: 2, budget: 2 },
];

type Kind = 'pending' | 'active' | 'succeeded' | 'failed';

/** A plan of canary (h0), wave 1 (h1, h2) and wave 2 (h3, h4), each host in the given state. */
function plan(states: Kind[], over: Partial<PlanDoc> = {}, spec: Partial<PlanSpec> = {}): PlanRuntime {
  const doc = testPlan('p', 5, { phases: PHASES, budget: 3, ...over });
  doc.spec = { ...doc.spec, ...spec };
  const runs = states.map((s, i) => {
    const base = testRun('p', `h${i}`, i, { phase: i === 0 ? 0 : i < 3 ? 1 : 2 });
    return s === 'pending' ? base : s === 'active' ? activeRun(base) : withPhase(finishedRun('p', `h${i}`, i, s), base, s);
  });
  return new PlanRuntime(doc, runs);
}

function withPhase(run: HostRunDoc, base: HostRunDoc, state: Kind): HostRunDoc {
  const failure = { step: 'upgrade' as const, kind: 'execution' as const, code: 'X', message: 'x', seq: 1, at: new Date(NOW) };
  return { ...run, phase: base.phase, ...(state === 'failed' ? { failure } : {}) };
}

test('every host final: the plan completes, naming its failures', () => {
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']), NOW, false), {
    kind: 'state',
    state: 'completed',
    reason: 'every host migrated',
  });
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'failed', 'succeeded', 'succeeded', 'succeeded'], {}), NOW, false), {
    kind: 'state',
    state: 'completed',
    reason: '1 of 5 hosts failed',
  });
});

test('a plan does not end while a run’s end is not announced', () => {
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']), NOW, true), { kind: 'none' });
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'pending'], { state: 'aborting' }), NOW, true), { kind: 'none' });
});

test('an aborting plan is aborted once no host is in flight', () => {
  const aborting = { state: 'aborting' as const, stateReason: 'aborted by op' };
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'active', 'pending'], aborting), NOW, false), { kind: 'none' });
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'failed', 'pending'], aborting), NOW, false), {
    kind: 'state',
    state: 'aborted',
    reason: 'aborted by op',
  });
});

test('plan budget: F = B with hosts waiting halts the plan (budget-exhausted); F < B does not', () => {
  const rt = plan(['succeeded', 'failed', 'failed', 'pending', 'pending'], { budget: 2, openPhase: 2 });
  assert.deepEqual(nextPlanStep(rt, NOW, false), {
    kind: 'state',
    state: 'budget-exhausted',
    reason: 'error budget exhausted: 2 of 2 failures allowed',
  });
  assert.equal(budgetExhausted(plan(['succeeded', 'failed', 'active', 'pending', 'pending'], { budget: 2, openPhase: 2 })), undefined);
});

test('an exhausted budget with no host waiting is not a halt: the plan goes on to complete', () => {
  assert.equal(budgetExhausted(plan(['succeeded', 'failed', 'failed', 'active', 'active'], { budget: 2, openPhase: 2 })), undefined);
});

test('wave budget: an open wave with hosts still to start halts at its own budget', () => {
  const phases = [PHASES[0], { ...PHASES[1], size: 2, budget: 1 }, PHASES[2]] as PlanDoc['phases'];
  const rt = plan(['succeeded', 'failed', 'pending', 'pending', 'pending'], { phases, budget: 3, openPhase: 1 });
  assert.equal(budgetExhausted(rt), 'wave 1 error budget exhausted: 1 of 1 failures allowed');
  // Every host of the wave started: its budget no longer stops anything.
  const started = plan(['succeeded', 'failed', 'active', 'pending', 'pending'], { phases, budget: 3, openPhase: 1 });
  assert.equal(budgetExhausted(started), undefined);
});

test('only a running plan moves on: paused, waiting or exhausted plans wait', () => {
  for (const state of ['paused', 'waiting-approval', 'budget-exhausted'] as const)
    assert.deepEqual(nextPlanStep(plan(['succeeded', 'pending', 'pending', 'pending', 'pending'], { state }), NOW, false), {
      kind: 'none',
    });
});

test('canary gate, manual: once every canary host finished, the plan waits for an approval', () => {
  assert.deepEqual(nextPlanStep(plan(['active', 'pending', 'pending', 'pending', 'pending']), NOW, false), { kind: 'none' });
  const reason = 'canary succeeded; approve to start wave 1';
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'pending', 'pending', 'pending', 'pending']), NOW, false), {
    kind: 'state',
    state: 'waiting-approval',
    reason,
    changes: { gate: { phase: 1, mode: 'manual', since: new Date(NOW), soakUntil: null, reason } },
  });
});

test('canary gate: a failed canary host waits for an approval even with automatic promotion', () => {
  const auto = { promotion: { mode: 'auto' as const, soakSeconds: 60 } };
  const rt = plan(['failed', 'pending', 'pending', 'pending', 'pending'], { budget: 3 }, auto);
  const step = nextPlanStep(rt, NOW, false);
  assert.equal(step.kind === 'state' && step.state, 'waiting-approval');
  assert.equal(step.kind === 'state' && step.reason, 'canary: 1 of 1 hosts failed; approve to go on or abort');
});

test('canary gate, auto: a soak, then wave 1 opens once the soak is over', () => {
  const auto = { promotion: { mode: 'auto' as const, soakSeconds: 60 } };
  const rt = plan(['succeeded', 'pending', 'pending', 'pending', 'pending'], {}, auto);
  const soakUntil = new Date(NOW + 60_000);
  assert.deepEqual(nextPlanStep(rt, NOW, false), {
    kind: 'save',
    changes: { gate: { phase: 1, mode: 'auto', since: new Date(NOW), soakUntil, reason: 'canary succeeded; soaking' } },
    event: { kind: 'soaking', message: `canary succeeded; wave 1 starts at ${soakUntil.toISOString()}` },
  });
  rt.plan = { ...rt.plan, gate: { phase: 1, mode: 'auto', since: new Date(NOW), soakUntil, reason: '' } };
  assert.deepEqual(nextPlanStep(rt, NOW + 59_999, false), { kind: 'none' }, 'still soaking');
  assert.deepEqual(nextPlanStep(rt, NOW + 60_000, false), {
    kind: 'save',
    changes: { openPhase: 1, gate: null },
    event: { kind: 'promoted', message: 'soak over, wave 1 opened' },
  });
});

test('a wave after the canary opens the next once all its hosts started (no batch barrier)', () => {
  const open1 = { openPhase: 1 };
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'active', 'pending', 'pending', 'pending'], open1), NOW, false), { kind: 'none' });
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'active', 'active', 'pending', 'pending'], open1), NOW, false), {
    kind: 'save',
    changes: { openPhase: 2 },
    event: { kind: 'wave-started', message: 'wave 2 opened' },
  });
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'active', 'active', 'active', 'pending'], { openPhase: 2 }), NOW, false), {
    kind: 'none',
  });
});

test('a manual gate waits for the operator whatever the clock says', () => {
  const gate = { phase: 1, mode: 'manual' as const, since: new Date(NOW), soakUntil: null, reason: '' };
  assert.deepEqual(nextPlanStep(plan(['succeeded', 'pending', 'pending', 'pending', 'pending'], { gate }), NOW + 86_400_000, false), {
    kind: 'none',
  });
});

test('hosts refused at creation (excluded, past the last phase) open no gate, spend no budget and end with the plan', () => {
  const reason = "agent 0.1.0 is older than the plan's minimum 0.2.0";
  const withRefused = (states: Kind[], over: Partial<PlanDoc> = {}): PlanRuntime => {
    const rt = plan(states, over);
    const refused = [0, 1].map((i) => testRun('p', `old${i}`, 5 + i, { state: 'excluded', phase: PHASES.length, exclusionReason: reason }));
    return new PlanRuntime({ ...rt.plan, hostCount: 7 }, [...rt.runs.values(), ...refused]);
  };
  const running = withRefused(['active', 'pending', 'pending', 'pending', 'pending']);
  assert.deepEqual(
    { excluded: running.counters.excluded, failures: running.counters.failures, total: running.counters.total },
    { excluded: 2, failures: 0, total: 7 },
  );
  assert.deepEqual(
    running.phases.map((p) => [p.started, p.final]),
    [
      [1, 0],
      [0, 0],
      [0, 0],
    ],
  );
  assert.deepEqual(nextPlanStep(running, NOW, false), { kind: 'none' }, 'the canary is the real host, still running');
  assert.equal(budgetExhausted(withRefused(['succeeded', 'pending', 'pending', 'pending', 'pending'], { budget: 1 })), undefined);
  assert.deepEqual(
    nextPlanStep(withRefused(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded'], { openPhase: 2 }), NOW, false),
    {
      kind: 'state',
      state: 'completed',
      reason: 'every host migrated but the 2 excluded',
    },
  );
});
