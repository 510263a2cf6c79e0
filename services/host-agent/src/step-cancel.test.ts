import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Step } from '@yixing/common';
import { decideCancel, type RunningStep } from './step-cancel.ts';

const running: RunningStep = { runId: 'r2', step: 'upgrade', commandId: 'c2' };

test('a cancel naming the running run and step stops it', () => {
  assert.deepEqual(decideCancel('r2', Step.UPGRADE, running), { cancel: true });
});

test('a cancel for another run, another step, nothing running or no step stops nothing, and says why', () => {
  assert.deepEqual(decideCancel('r1', Step.UPGRADE, running), {
    cancel: false,
    reason: 'step upgrade of run r1 is not running; running: upgrade of run r2 (command c2)',
  });
  assert.deepEqual(decideCancel('r2', Step.BACKUP, running), {
    cancel: false,
    reason: 'step backup of run r2 is not running; running: upgrade of run r2 (command c2)',
  });
  assert.deepEqual(decideCancel('r2', Step.UPGRADE, undefined), {
    cancel: false,
    reason: 'step upgrade of run r2 is not running; running: nothing',
  });
  const unnamed = decideCancel('r2', Step.UNSPECIFIED, running);
  assert.equal(unnamed.cancel, false);
  assert.match((unnamed as { reason: string }).reason, /names no known step/);
});
