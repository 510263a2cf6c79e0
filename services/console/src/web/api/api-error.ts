// The APIs' error shape, {error: {code, message, retryable, ...}}, as a YxError with the
// API's code (the one error model), and worded for the user: a message key of the catalog
// (by HTTP status, never by message text) filled with the API's own message. Pure.

import { YxError } from '@yixing/common/errors';

export interface ApiErrorBody {
  code: string;
  message: string;
  retryable: boolean;
}

/** One field a 400 names: `body.matchers`, `query.limit`, and what is wrong with it. */
export interface FieldProblem {
  field: string;
  reason: string;
}

/** A failed API call: status 0 when no answer came at all. */
export class ConsoleApiError extends YxError {
  readonly status: number;
  readonly code: string;
  readonly retryable: boolean;
  /** What the API answered with (0: no answer). */
  override readonly httpStatus: number;
  /** The fields the API named as wrong (every one when it lists them), for a form to show beside each. */
  readonly problems: readonly FieldProblem[];

  constructor(status: number, body: ApiErrorBody, problems: readonly FieldProblem[] = []) {
    super(body.message);
    this.status = status;
    this.httpStatus = status;
    this.code = body.code;
    this.retryable = body.retryable;
    this.problems = problems;
  }
}

const isProblem = (p: unknown): p is FieldProblem =>
  typeof (p as FieldProblem | null)?.field === 'string' && typeof (p as FieldProblem).reason === 'string';

/** The problems an error body lists, else the one field and reason it names. */
function problemsOf(e: { problems?: unknown; field?: unknown; reason?: unknown }): FieldProblem[] {
  if (Array.isArray(e.problems)) return e.problems.filter(isProblem).map(({ field, reason }) => ({ field, reason }));
  return isProblem(e) ? [{ field: e.field as string, reason: e.reason as string }] : [];
}

/** The error a response's status and body (parsed JSON, or null) stand for. */
export function apiErrorOf(status: number, body: unknown): ConsoleApiError {
  const e = (body as { error?: Partial<ApiErrorBody> & { problems?: unknown; field?: unknown; reason?: unknown } } | null)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new ConsoleApiError(status, { code: e.code, message: e.message, retryable: e.retryable === true }, problemsOf(e));
  }
  return new ConsoleApiError(status, { code: `HTTP_${status}`, message: `HTTP ${status}`, retryable: status >= 500 || status === 429 });
}

export const networkError = (cause: unknown): ConsoleApiError =>
  new ConsoleApiError(0, { code: 'NETWORK', message: cause instanceof Error ? cause.message : String(cause), retryable: true });

/** The catalog key that words an error for the user, and what fills its placeholders. */
export function describeApiError(err: ConsoleApiError): { key: string; values: Record<string, string | number> } {
  const values = { message: err.message, status: err.status };
  if (err.status === 0) return { key: 'error.network', values };
  if (err.status === 401) return { key: 'error.unauthenticated', values };
  if (err.status === 403) return { key: 'error.forbidden', values };
  if (err.status === 404) return { key: 'error.notFound', values };
  if (err.status === 429) return { key: 'error.rateLimited', values };
  if (err.status === 502 || err.status === 503 || err.status === 504) return { key: 'error.unavailable', values };
  if (err.status >= 400 && err.status < 500) return { key: 'error.invalid', values };
  if (err.status >= 500) return { key: 'error.internal', values };
  return { key: 'error.other', values };
}
