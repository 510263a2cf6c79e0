// Why a step's abort signal fired, and the outcome of a step whose run threw. Pure.
import { FailureKind, YxError } from '@yixing/common/base';
import type { StepOutcome } from './drivers/driver.ts';

/** Why a step's abort signal fired: its timeout. */
export class TimeoutReason extends YxError {
  readonly code = 'STEP_TIMEOUT';
  readonly retryable = true;

  constructor(seconds: number) {
    super(`step timed out after ${seconds} s`);
  }
}

/** Why a step's abort signal fired: the scheduler cancelled it. */
export class CancelReason extends YxError {
  readonly code = 'STEP_CANCELLED';
  readonly retryable = false;
}

/**
 * The outcome of a step whose run threw `err` while its signal's reason was `reason`: a
 * timeout or a cancel by that reason, else the error's own code; undefined (nothing to
 * report) when the agent is stopping and neither fired.
 */
export function thrownOutcome(err: unknown, reason: unknown, stopping: boolean): StepOutcome | undefined {
  if (stopping && !(reason instanceof TimeoutReason) && !(reason instanceof CancelReason)) return undefined;
  if (reason instanceof TimeoutReason) {
    return { ok: false, code: 'STEP_TIMEOUT', message: reason.message, retryable: true, kind: FailureKind.TIMEOUT };
  }
  if (reason instanceof CancelReason) {
    return { ok: false, code: 'STEP_CANCELLED', message: reason.message, retryable: false, kind: FailureKind.EXECUTION };
  }
  const e = err as Error & { code?: string; retryable?: boolean };
  return {
    ok: false,
    code: typeof e.code === 'string' ? e.code : 'STEP_ERROR',
    message: e.message,
    retryable: e.retryable ?? false,
    kind: FailureKind.EXECUTION,
  };
}
