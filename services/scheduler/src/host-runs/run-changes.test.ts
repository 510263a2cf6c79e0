// How a run's document changes: a take, a step started, abort with and without rollback,
// a retry of a failed run, a held run resolved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostRunDoc } from '../db/models.ts';
import { activeRun, testRun } from '../reconcile/engine.fixtures.ts';
import {
  abortedRun,
  awaitsOutcome,
  type ChangeContext,
  isInStep,
  type RunInStep,
  releaseSlot,
  resolvedHeld,
  retriedRun,
  takenRun,
} from './run-changes.ts';

const NOW = Date.parse('2030-01-01T00:00:00Z');

function context(now = NOW): ChangeContext & { seqs: number[] } {
  let seq = 10;
  const seqs: number[] = [];
  return {
    now,
    nextSeq: () => {
      seqs.push(++seq);
      return seq;
    },
    seqs,
    timeoutSeconds: { 'cluster-check': 60, upgrade: 1800 },
    deadlineGraceMs: 30_000,
  };
}

function inStep(run: HostRunDoc): RunInStep {
  assert.ok(isInStep(run));
  return run;
}

test('a take opens a slot (numbered by the plan sequence) and dispatches cluster-check with its deadline', () => {
  const run = testRun('p', 'h1', 0, { notBefore: new Date(NOW - 1) });
  const ctx = context();
  const taken = takenRun(run, ctx);
  assert.equal(taken.state, 'active');
  assert.equal(taken.step, 'cluster-check');
  assert.equal(taken.attempt, 1);
  assert.equal(taken.commandId, `${run.runId}.0.cluster-check.1`);
  assert.equal(taken.stepState, 'dispatching');
  assert.equal(taken.deadlineAt?.getTime(), NOW + 60_000 + 30_000, 'step timeout + grace');
  assert.equal(taken.notBefore, null);
  assert.deepEqual(taken.slots, [{ takenSeq: 11, takenAt: new Date(NOW), releasedSeq: null, releasedAt: null }]);
  const again = takenRun({ ...taken, state: 'pending', ...releaseSlot(taken, ctx) }, ctx);
  assert.equal(again.commandId, `${run.runId}.1.cluster-check.1`, 'a second take is another slot: another command id');
});

test('a step the plan gives no timeout gets an hour', () => {
  const taken = takenRun(testRun('p', 'h1', 0), { ...context(), timeoutSeconds: {} });
  assert.equal(taken.deadlineAt?.getTime(), NOW + 3_600_000 + 30_000);
});

test('releasing a slot clears the step and stamps the release on the current slot only', () => {
  const run = activeRun(activeRun(testRun('p', 'h1', 0)), {});
  const released = releaseSlot(run, context());
  assert.deepEqual(
    { step: released.step, stepState: released.stepState, deadlineAt: released.deadlineAt },
    { step: null, stepState: null, deadlineAt: null },
  );
  assert.equal(released.slots[0]?.releasedSeq, null, 'an earlier slot is left as it was');
  assert.equal(released.slots[1]?.releasedSeq, 11);
});

test('abort with rollback, host not changed yet (precheck): released, pending again, not a failure', () => {
  const run = inStep(activeRun(testRun('p', 'h1', 0), { step: 'precheck' }));
  const { after, rollsBack } = abortedRun(run, context());
  assert.equal(rollsBack, false);
  assert.equal(after.state, 'pending');
  assert.equal(after.step, null);
  assert.equal(after.failure, null);
  assert.equal(after.slots.at(-1)?.releasedSeq, 11);
});

for (const step of ['upgrade', 'reboot', 'postcheck'] as const) {
  test(`abort with rollback, host changed (${step}): rolls back, counted as failed by the abort`, () => {
    const run = inStep(activeRun(testRun('p', 'h1', 0), { step }));
    const { after, rollsBack } = abortedRun(run, context());
    assert.equal(rollsBack, true);
    assert.equal(after.state, 'active');
    assert.equal(after.step, 'rollback');
    assert.equal(after.stepState, 'dispatching');
    assert.equal(after.rollback, 'running');
    assert.deepEqual(after.failure, { step, kind: 'execution', code: 'PLAN_ABORTED', message: 'plan aborted', seq: 11, at: new Date(NOW) });
    assert.equal(after.slots.at(-1)?.releasedSeq, null, 'the host keeps its slot while it rolls back');
  });
}

test('abort keeps a failure already recorded', () => {
  const failure = { step: 'upgrade' as const, kind: 'timeout' as const, code: 'STEP_DEADLINE', message: 'm', seq: 3, at: new Date(0) };
  const run = inStep(activeRun(testRun('p', 'h1', 0), { step: 'upgrade', attempt: 2, failure }));
  assert.deepEqual(abortedRun(run, context()).after.failure, failure);
});

test('retry-failed: pending again under a new run id, no longer a failure', () => {
  const failure = { step: 'precheck' as const, kind: 'execution' as const, code: 'X', message: 'm', seq: 3, at: new Date(0) };
  const run = testRun('p', 'h1', 0, { state: 'failed', failure, rollback: 'succeeded', notBefore: new Date(NOW) });
  const after = retriedRun(run, 'rnew');
  assert.equal(after.state, 'pending');
  assert.equal(after.runId, 'rnew');
  assert.deepEqual(after.previousRunIds, [run.runId]);
  assert.equal(after.failure, null);
  assert.equal(after.rollback, 'none');
  assert.equal(after.notBefore, null);
});

test('a held host: retry runs the failed step’s next attempt; rollback starts the rollback', () => {
  const failure = { step: 'postcheck' as const, kind: 'execution' as const, code: 'X', message: 'm', seq: 3, at: new Date(0) };
  const record = { commandId: 'c', dispatchedAt: new Date(0), startedAt: null, finishedAt: null, code: '', message: '', report: '' };
  const history = [
    { ...record, step: 'postcheck' as const, attempt: 1, outcome: 'failed' as const, kind: 'timeout' as const },
    { ...record, step: 'postcheck' as const, attempt: 2, outcome: 'failed' as const, kind: 'execution' as const },
  ];
  const run = activeRun(testRun('p', 'h1', 0), { state: 'held', step: null, stepState: null, failure, history });
  const retried = resolvedHeld({ ...run, failure }, 'retry', context());
  assert.deepEqual([retried.state, retried.step, retried.attempt, retried.failure], ['active', 'postcheck', 3, null]);
  assert.equal(retried.commandId, `${run.runId}.0.postcheck.3`);
  const rolled = resolvedHeld({ ...run, failure }, 'rollback', context());
  assert.deepEqual([rolled.state, rolled.step, rolled.attempt, rolled.rollback], ['active', 'rollback', 1, 'running']);
  assert.deepEqual(rolled.failure, failure, 'still counted as failed');
});

test('a run awaits the outcome of its current command only, while in its step', () => {
  const run = activeRun(testRun('p1', 'h1', 0), { step: 'reboot' });
  assert.equal(awaitsOutcome(run, run.commandId), true);
  assert.equal(awaitsOutcome({ ...run, stepState: 'dispatching' }, run.commandId), true);
  // An older command (a replay), a run that moved on or ended: nothing to apply.
  assert.equal(awaitsOutcome(run, `${run.runId}.0.upgrade.1`), false);
  assert.equal(awaitsOutcome({ ...run, stepState: null }, run.commandId), false);
  assert.equal(awaitsOutcome({ ...run, state: 'succeeded' }, run.commandId), false);
});
