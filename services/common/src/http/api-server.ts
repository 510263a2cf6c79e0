// How every Yixing API's fastify is made: JSON Schema validation that neither coerces nor
// drops what it does not know, the one error shape even for what fastify refuses before
// routing (a URL it cannot decode, a path parameter too long), and HTTPS when given a
// certificate.
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { sendError } from './api-errors.ts';

export interface ApiServerSettings {
  logger?: boolean;
  bodyLimit?: number;
  tls?: { cert: Buffer; key: Buffer };
}

/** Fastify's frameworkErrors: refusals made before any route; the URL is not echoed (it may be huge). */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  sendError(reply, tooLong ? 414 : 400, {
    code: tooLong ? 'URI_TOO_LONG' : 'BAD_URL',
    message: tooLong ? 'a path parameter is longer than any this API takes' : 'the URL is not valid (its percent-encoding does not decode)',
    retryable: false,
  });
}

export function apiServerOptions(settings: ApiServerSettings): FastifyServerOptions & { https?: { cert: Buffer; key: Buffer } } {
  return {
    logger: settings.logger ?? false,
    ...(settings.bodyLimit ? { bodyLimit: settings.bodyLimit } : {}),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    frameworkErrors,
    ...(settings.tls ? { https: settings.tls } : {}),
  };
}
