import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanView } from '@yixing/scheduler';
import { createPlanOffer, hostActionsFor, PLAN_ACTIONS, planActionsFor } from './action-rules.ts';

const GATE = { phase: 1, mode: 'manual' } as unknown as PlanView['gate'];
const allowed = (offers: Record<string, { allowed: boolean }>): string[] =>
  Object.entries(offers)
    .filter(([, o]) => o.allowed)
    .map(([a]) => a);

test('a running plan can be paused, aborted and its failed hosts retried; not resumed or approved', () => {
  assert.deepEqual(allowed(planActionsFor('running', null, 'operator', 2)), ['pause', 'retry-failed', 'abort']);
  const offers = planActionsFor('running', null, 'operator', 0);
  assert.deepEqual(offers.resume, { allowed: false, why: 'notPaused' });
  assert.deepEqual(offers.approve, { allowed: false, why: 'noGate' });
  assert.deepEqual(offers['retry-failed'], { allowed: false, why: 'noFailed' });
});

test('a plan waiting at its gate can be approved and paused', () => {
  assert.deepEqual(allowed(planActionsFor('waiting-approval', GATE, 'operator')), ['pause', 'approve', 'abort']);
  assert.equal(planActionsFor('waiting-approval', null, 'operator').approve.allowed, false);
});

test('a paused plan and one whose budget ran out can be resumed, not paused', () => {
  assert.deepEqual(allowed(planActionsFor('paused', null, 'admin')), ['resume', 'abort']);
  assert.deepEqual(allowed(planActionsFor('budget-exhausted', null, 'operator', 3)), ['resume', 'retry-failed', 'abort']);
  assert.deepEqual(planActionsFor('paused', null, 'operator').pause, { allowed: false, why: 'notRunning' });
});

test('an aborting plan can be neither aborted again nor have hosts retried', () => {
  const offers = planActionsFor('aborting', null, 'operator', 5);
  assert.deepEqual(allowed(offers), []);
  assert.deepEqual(offers.abort, { allowed: false, why: 'aborting' });
  assert.deepEqual(offers['retry-failed'], { allowed: false, why: 'aborting' });
});

test('a finished plan offers nothing, whoever asks', () => {
  for (const state of ['completed', 'aborted'] as const) {
    for (const a of PLAN_ACTIONS) assert.deepEqual(planActionsFor(state, null, 'admin', 1)[a], { allowed: false, why: 'finished' });
  }
});

test('a viewer is offered nothing, with the role as the reason; before whoami answers, nothing either', () => {
  for (const a of PLAN_ACTIONS) assert.deepEqual(planActionsFor('running', GATE, 'viewer', 1)[a], { allowed: false, why: 'role' });
  assert.deepEqual(planActionsFor('running', null, null).pause, { allowed: false, why: 'signingIn' });
  assert.deepEqual(hostActionsFor({ state: 'held', failure: {} as never }, 'viewer').retry, { allowed: false, why: 'role' });
});

test('a held host can be retried or rolled back; only a pending one excluded', () => {
  const failure = { step: 'upgrade', code: 'X', message: 'm' } as never;
  assert.deepEqual(allowed(hostActionsFor({ state: 'held', failure }, 'operator')), ['retry', 'rollback']);
  assert.deepEqual(allowed(hostActionsFor({ state: 'pending', failure: null }, 'operator')), ['exclude']);
  for (const state of ['active', 'succeeded', 'failed', 'excluded'] as const) {
    const offers = hostActionsFor({ state, failure: state === 'failed' ? failure : null }, 'operator');
    assert.deepEqual(offers.retry, { allowed: false, why: 'notHeld' });
    assert.deepEqual(offers.exclude, { allowed: false, why: 'notPending' });
  }
});

test('creating a plan needs the operator role', () => {
  assert.deepEqual(createPlanOffer('viewer'), { allowed: false, why: 'role' });
  assert.deepEqual(createPlanOffer('operator'), { allowed: true });
  assert.deepEqual(createPlanOffer('admin'), { allowed: true });
  assert.deepEqual(createPlanOffer(null), { allowed: false, why: 'signingIn' });
});
