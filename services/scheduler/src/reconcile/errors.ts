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
