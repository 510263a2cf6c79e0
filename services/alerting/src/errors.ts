// The alerting service's errors, each with its code, whether trying again may help, and
// the HTTP status its API answers with.
import { YxError, type YxErrorOptions } from '@yixing/common';

/**
 * A receiver did not take a notification. `retryable`: a 5xx, a 429, a timeout or a
 * connection refused (the dispatcher tries again with backoff); not retryable: the
 * destination refused the message itself (a 4xx other than 408/429, a robot's errcode for
 * a bad message), which trying again will not change.
 */
export class DeliveryError extends YxError {
  readonly code: string;
  readonly retryable: boolean;
  /** From Retry-After (seconds or an HTTP date), in ms from now; undefined when not given. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, what: { code: string; retryable: boolean; retryAfterMs?: number }, opts: YxErrorOptions = {}) {
    super(message, opts);
    this.code = what.code;
    this.retryable = what.retryable;
    this.retryAfterMs = what.retryAfterMs;
  }
}
