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
 * A request that cannot be taken: every problem at once, each naming its field
 * (`body.matchers`, `body[2].labels.alertname`); the first is `field` and `reason`, as for any 400.
 */
abstract class ProblemsError extends YxError {
  readonly code = 'VALIDATION_FAILED';
  readonly retryable = false;
  override readonly httpStatus = 400;
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[], whole: string) {
    const first = problems[0] ?? { path: 'body', reason: whole };
    super(problems.map((p) => `${p.path}: ${p.reason}`).join('; '), {
      details: { field: first.path, reason: first.reason, problems: problems.map((p) => ({ field: p.path, reason: p.reason })) },
    });
    this.problems = problems;
  }
}

/** A silence that cannot be created. */
export class SilenceInvalidError extends ProblemsError {
  constructor(problems: readonly Problem[]) {
    super(problems, 'is not a silence');
  }
}

/** Pushed alerts (POST /api/v2/alerts) of which one at least cannot be taken: none is. */
export class PostedAlertsInvalidError extends ProblemsError {
  constructor(problems: readonly Problem[]) {
    super(problems, 'is not a list of alerts');
  }
}
