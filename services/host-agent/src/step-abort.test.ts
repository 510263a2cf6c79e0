import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureKind, YxError } from '@yixing/common';
import type { StepFailure } from './drivers/driver.ts';
import { CancelReason, TimeoutReason, thrownOutcome } from './step-abort.ts';

const failure = (...args: Parameters<typeof thrownOutcome>): StepFailure | undefined => thrownOutcome(...args) as StepFailure | undefined;

class DiskFull extends YxError {
  readonly code = 'DISK_FULL';
  readonly retryable = true;
}

test('a step that threw: by why its signal fired, else by the error, and nothing while the agent stops', () => {
  const err = new Error('aborted');
  assert.deepEqual(thrownOutcome(err, new TimeoutReason(30), false), {
    ok: false,
    code: 'STEP_TIMEOUT',
    message: 'step timed out after 30 s',
    retryable: true,
    kind: FailureKind.TIMEOUT,
  });
  assert.equal(thrownOutcome(err, new CancelReason('operator'), true)?.ok, false, 'a cancel is reported even while stopping');
  assert.equal(failure(err, new CancelReason('operator'), false)?.message, 'operator');
  assert.equal(thrownOutcome(err, undefined, true), undefined, 'stopping: no outcome to report');
  assert.deepEqual(thrownOutcome(new DiskFull('no space'), undefined, false), {
    ok: false,
    code: 'DISK_FULL',
    message: 'no space',
    retryable: true,
    kind: FailureKind.EXECUTION,
  });
  assert.equal(failure(err, undefined, false)?.code, 'STEP_ERROR');
});
