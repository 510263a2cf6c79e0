// The API's access errors, declared once: the shared error handler (api-errors.ts) answers
// each with its own status, as it does every YxError.
import { YxError, type YxErrorOptions } from '../../errors.ts';

/** No bearer token, or one that is unknown, expired, or not signed by the configured issuer. */
export class UnauthenticatedError extends YxError {
  readonly code = 'UNAUTHENTICATED';
  readonly retryable = false;
  override readonly httpStatus = 401;
}

/** An authenticated identity whose role is below what the route needs. */
export class ForbiddenError extends YxError {
  readonly code = 'FORBIDDEN';
  readonly retryable = false;
  override readonly httpStatus = 403;
}

/** An identity that sent more requests than its budget in the window. */
export class RateLimitedError extends YxError {
  readonly code = 'RATE_LIMITED';
  readonly retryable = true;
  override readonly httpStatus = 429;
  override readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, opts: YxErrorOptions = {}) {
    super(message, opts);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
