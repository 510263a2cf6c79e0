// The alerting API's own refusals, each with its HTTP status; the shared handler
// (@yixing/common/http) answers with it. An unknown id is common's NotFoundError (404).
import { YxError } from '@yixing/common';
import type { Problem } from '../engine/problem.ts';

/** Acknowledging or resolving an alert that does not fire: nothing to act on (409). */
export class AlertNotFiringError extends YxError {
  readonly code = 'ALERT_NOT_FIRING';
  readonly retryable = false;
  override readonly httpStatus = 409;
}

/**
 * A silence that cannot be created: every problem at once, each naming its field
 * (`body.matchers`, `body.endsAt`); the first is `field` and `reason`, as for any 400.
 */
export class SilenceInvalidError extends YxError {
  readonly code = 'VALIDATION_FAILED';
  readonly retryable = false;
  override readonly httpStatus = 400;
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    const first = problems[0] ?? { path: 'body', reason: 'is not a silence' };
    super(problems.map((p) => `${p.path}: ${p.reason}`).join('; '), {
      details: { field: first.path, reason: first.reason, problems: problems.map((p) => ({ field: p.path, reason: p.reason })) },
    });
    this.problems = problems;
  }
}
