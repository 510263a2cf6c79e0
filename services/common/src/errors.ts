// Every failure is a named class with a stable `code`, a retryable/terminal mark and the
// HTTP status an API answers with, so that callers decide by code, never by message text.

export interface YxErrorOptions {
  cause?: unknown;
  /** Structured details for logs and API error bodies (field names, limits, ...). */
  details?: Record<string, unknown>;
}

export abstract class YxError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
  /** The status an API answers with; unset: 503 when retryable (try again), else 500. */
  readonly httpStatus?: number;
  /** For a retryable error: how long an API tells its caller to wait (Retry-After). */
  readonly retryAfterSeconds?: number;
  readonly details: Record<string, unknown>;

  constructor(message: string, opts: YxErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.details = opts.details ?? {};
  }

  toJSON(): { code: string; message: string; retryable: boolean; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/** Configuration is missing or invalid: the process must not start. */
export class ConfigError extends YxError {
  readonly code = 'CONFIG_INVALID';
  readonly retryable = false;
}

/** Bytes on the bus are not a valid message of the expected type. */
export class DecodeError extends YxError {
  readonly code = 'MESSAGE_UNDECODABLE';
  readonly retryable = false;
}

/** A message decoded but breaks a field rule of its schema. */
export class ValidationError extends YxError {
  readonly code = 'MESSAGE_INVALID';
  readonly retryable = false;
  readonly field: string;

  constructor(field: string, reason: string, opts: YxErrorOptions = {}) {
    super(`${field}: ${reason}`, { ...opts, details: { field, reason, ...opts.details } });
    this.field = field;
  }
}

/** A conditional write found a different state or version: someone else moved first. */
export class StaleWriteError extends YxError {
  readonly code = 'STALE_WRITE';
  readonly retryable = false;
}

/** A dependency (bus, database) is unreachable or timed out; trying again may work. */
export class UnavailableError extends YxError {
  readonly code: string = 'DEPENDENCY_UNAVAILABLE';
  readonly retryable = true;
}

/** Something asked for by id does not exist. */
export class NotFoundError extends YxError {
  readonly code = 'NOT_FOUND';
  readonly retryable = false;
  override readonly httpStatus = 404;
}

/** The HTTP status for an error: its own, or 503 when retrying may work, else 500. */
export function httpStatusOf(err: YxError): number {
  return err.httpStatus ?? (err.retryable ? 503 : 500);
}

export function isYxError(err: unknown): err is YxError {
  return err instanceof YxError;
}
