// One error shape for the whole API: {error: {code, message, field?, reason?}} with a 4xx
// that names what is wrong, never a stack trace and never a 500 for bad input.

import { isYxError } from '@yixing/common';
import type { FastifyError, FastifyInstance } from 'fastify';
import { HostsBusyError, PlanValidationError } from '../plans/plan.service.ts';
import { PlanConflictError } from '../reconcile/engine.ts';

export class NotFoundError extends Error {
  readonly code = 'NOT_FOUND';
  readonly retryable = false;
}

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

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError & { validation?: AjvError[]; validationContext?: string }, req, reply) => {
    if (err.validation && err.validation.length > 0) {
      const first = err.validation[0] as AjvError;
      const { field, reason } = describeValidation(err.validationContext ?? 'body', first);
      return reply.status(400).send({ error: { code: 'VALIDATION_FAILED', message: `${field}: ${reason}`, field, reason } });
    }
    if (err instanceof PlanValidationError) {
      return reply.status(400).send({ error: { code: err.code, message: err.message, field: `body.${err.field}`, reason: err.reason } });
    }
    if (err instanceof HostsBusyError) {
      return reply.status(409).send({ error: { code: err.code, message: err.message, hosts: err.hosts.slice(0, 100) } });
    }
    if (err instanceof PlanConflictError) return reply.status(409).send({ error: { code: err.code, message: err.message } });
    if (err instanceof NotFoundError) return reply.status(404).send({ error: { code: err.code, message: err.message } });
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({
        error: { code: 'BODY_TOO_LARGE', message: `request body is larger than the ${app.initialConfig.bodyLimit} bytes allowed` },
      });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' } });
    }
    if (
      err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      (err.statusCode === 400 && err instanceof SyntaxError)
    ) {
      return reply.status(400).send({ error: { code: 'INVALID_JSON', message: `body is not valid JSON: ${err.message}` } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: { code: err.code ?? 'BAD_REQUEST', message: err.message } });
    }
    if (isYxError(err) && err.retryable) {
      req.log.warn({ err: err.message }, 'dependency unavailable');
      return reply.status(503).send({ error: { code: err.code, message: err.message } });
    }
    req.log.error({ err: err.message, stack: err.stack }, 'request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error; see the scheduler log' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } });
  });
}
