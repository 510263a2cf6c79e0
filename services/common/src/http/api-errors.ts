// One error shape for every Yixing HTTP API: {error: {code, message, retryable, ...details}}.
// The status comes from the error itself (YxError.httpStatus; 503 with Retry-After when
// retrying may help), bad input is a 4xx naming the field, never a stack trace; a method a
// path does not have is a 405 naming the methods it has.
import type { FastifyError, FastifyInstance, FastifyReply, HTTPMethods } from 'fastify';
import { httpStatusOf, isYxError } from '../errors.ts';
import { activeTraceIds } from '../telemetry/trace-context.ts';
import { traceRequests } from './request-spans.ts';

/** What a retryable answer tells the caller to wait, when the error does not say. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns an ajv error into a field path (`body.limits.maxInFlight`) and a reason. */
export function describeValidation(part: string, e: AjvError): { field: string; reason: string } {
  const path = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`))
    .join('');
  const base = `${part}${path}`;
  switch (e.keyword) {
    case 'additionalProperties':
      return { field: `${base}.${String(e.params.additionalProperty)}`, reason: 'is not a known field' };
    case 'required':
      return { field: `${base}.${String(e.params.missingProperty)}`, reason: 'is required' };
    case 'minProperties':
      return {
        field: base,
        reason: Number(e.params.limit) === 1 ? 'must not be empty' : `needs at least ${String(e.params.limit)} entries`,
      };
    case 'maxProperties':
      return { field: base, reason: `takes at most ${String(e.params.limit)} entry (count or percent)` };
    case 'enum':
      return { field: base, reason: `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    default:
      return { field: base, reason: e.message ?? e.keyword };
  }
}

export interface ErrorBody {
  code: string;
  message: string;
  retryable: boolean;
  [detail: string]: unknown;
}

/** Sends the one error shape; a 429 or 503 says when to come back, a 401 how to authenticate (RFC 6750). */
export function sendError(reply: FastifyReply, status: number, body: ErrorBody, retryAfterSeconds?: number): FastifyReply {
  if (status === 429 || status === 503) reply.header('retry-after', String(retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS));
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="yixing"');
  // Inside a span (tracing on), the answer names its trace: what an operator quotes to find it.
  const ids = activeTraceIds();
  return reply.status(status).send({ error: ids ? { ...body, traceId: ids.traceId } : body });
}

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The methods routed for a concrete URL (path and query), in a stable order. */
export function allowedMethods(app: FastifyInstance, url: string): HTTPMethods[] {
  const path = url.split('?')[0] ?? url;
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}

export interface ApiErrorOptions {
  /** Names the service in a 500's message: "see the <service> log". */
  service: string;
}

/**
 * The one error shape on `app`, and a span per request: the traceId an error body names
 * is that request's, so the two are installed together.
 */
export function installApiErrors(app: FastifyInstance, opts: ApiErrorOptions): void {
  traceRequests(app);
  app.setErrorHandler((err: FastifyError & { validation?: AjvError[]; validationContext?: string }, req, reply) => {
    if (err.validation && err.validation.length > 0) {
      const { field, reason } = describeValidation(err.validationContext ?? 'body', err.validation[0] as AjvError);
      return sendError(reply, 400, { code: 'VALIDATION_FAILED', message: `${field}: ${reason}`, retryable: false, field, reason });
    }
    if (isYxError(err)) {
      const status = httpStatusOf(err);
      if (status >= 500 && !err.retryable) {
        req.log.error({ err: err.message, code: err.code, stack: err.stack }, 'request failed');
        return sendError(reply, 500, internal(opts));
      }
      if (status >= 500) req.log.warn({ err: err.message, code: err.code }, 'dependency unavailable');
      return sendError(
        reply,
        status,
        { ...err.details, code: err.code, message: err.message, retryable: err.retryable },
        err.retryAfterSeconds,
      );
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, {
          code: 'BODY_TOO_LARGE',
          message: `request body is larger than the ${app.initialConfig.bodyLimit} bytes allowed`,
          retryable: false,
        });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 415, { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json', retryable: false });
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return invalidJson(reply, err);
    }
    if (err.statusCode === 400 && err instanceof SyntaxError) return invalidJson(reply, err);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, { code: err.code ?? 'BAD_REQUEST', message: err.message, retryable: err.statusCode === 429 });
    }
    req.log.error({ err: err.message, stack: err.stack }, 'request failed');
    return sendError(reply, 500, internal(opts));
  });
  app.setNotFoundHandler((req, reply) => {
    const allow = allowedMethods(app, req.url);
    if (allow.length > 0) {
      reply.header('allow', allow.join(', '));
      return sendError(reply, 405, {
        code: 'METHOD_NOT_ALLOWED',
        message: `${req.method} is not a method of ${req.url.split('?')[0]}; it has ${allow.join(', ')}`,
        retryable: false,
      });
    }
    return sendError(reply, 404, { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}`, retryable: false });
  });
}

const internal = (opts: ApiErrorOptions): ErrorBody => ({
  code: 'INTERNAL',
  message: `internal error; see the ${opts.service} log`,
  retryable: false,
});

const invalidJson = (reply: FastifyReply, err: Error): FastifyReply =>
  sendError(reply, 400, { code: 'INVALID_JSON', message: `body is not valid JSON: ${err.message}`, retryable: false });
