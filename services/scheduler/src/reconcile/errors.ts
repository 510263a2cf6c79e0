// The engine's errors.
import { YxError } from '@yixing/common';

/** An operator action that the plan's (or host's) state does not allow now. */
export class PlanConflictError extends YxError {
  readonly code = 'PLAN_STATE_CONFLICT';
  readonly retryable = false;
  override readonly httpStatus = 409;
}

/** A run key the live mirror does not hold: the engine's own bookkeeping is wrong. */
export class RunNotLiveError extends YxError {
  readonly code = 'RUN_NOT_LIVE';
  readonly retryable = false;
}

/**
 * A step's outcome was not stored although its run still awaits it: the write met a
 * version of the run that never counted (an earlier try of this very outcome, cut off
 * with the store before its ticket). Retryable: the event is applied again.
 */
export class OutcomeNotStoredError extends YxError {
  readonly code = 'OUTCOME_NOT_STORED';
  readonly retryable = true;
}
