// What the OpenAPI documents of Yixing's APIs say about errors: one error schema, and on
// every route each status it can answer with. The error handler (api-errors.ts) decides
// the statuses; this names them for the document.
import type { FastifyInstance, RouteOptions } from 'fastify';

export const API_ERROR_SCHEMA_ID = 'ApiError';

export const apiErrorSchema = {
  $id: API_ERROR_SCHEMA_ID,
  description: 'Every error answer of the API.',
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'retryable'],
      additionalProperties: true,
      properties: {
        code: { type: 'string', description: 'Stable, machine-readable: decide by this, never by the message.' },
        message: { type: 'string', description: 'One line for a person.' },
        retryable: { type: 'boolean', description: 'Whether the same request may succeed later (after Retry-After).' },
        field: { type: 'string', description: 'For invalid input: the field at fault, e.g. body.limits.maxInFlight.' },
        reason: { type: 'string', description: 'For invalid input: what is wrong with the field.' },
      },
    },
  },
} as const;

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid: `error.field` names the field and `error.reason` what is wrong.',
  401: 'No bearer token, or one that is unknown, expired or not from the configured issuer; `WWW-Authenticate` says how to authenticate.',
  403: "The caller's role is below what the route needs; `error.needs` names the role.",
  404: 'Nothing has this id.',
  405: 'The path has no such method; `Allow` lists the ones it has.',
  409: 'The resource is in a state that does not allow this now.',
  413: 'The body is larger than the API accepts.',
  415: 'The body is not application/json.',
  422: 'The request conflicts with an earlier one (an Idempotency-Key reused with another body).',
  429: 'Too many requests (of this kind at once, or from this identity in the window); try again after Retry-After seconds.',
  500: 'An internal error; the service log has the details.',
  503: 'A dependency (database, bus, object store) did not answer in time; try again after Retry-After seconds.',
};

const retryAfter = {
  'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds to wait before trying again.' },
} as const;

/** The documented response for an error status. */
export function errorResponse(status: number): Record<string, unknown> {
  return {
    description: DESCRIPTIONS[status] ?? 'An error.',
    ...(status === 429 || status === 503 ? { headers: retryAfter } : {}),
    $ref: `${API_ERROR_SCHEMA_ID}#`,
  };
}

/** Documented responses for these error statuses, for a route's `schema.response`. */
export function errorResponses(...statuses: number[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(statuses.map((s) => [String(s), errorResponse(s)]));
}

/** A documented JSON success response. */
export function okResponse(description: string, status = 200): Record<string, Record<string, unknown>> {
  return { [String(status)]: { description, type: 'object', additionalProperties: true } };
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The errors any route of this shape can answer with, whatever its handler does. */
export function implicitErrorStatuses(route: Pick<RouteOptions, 'method' | 'schema'>): number[] {
  const statuses = [500, 503];
  const s = route.schema ?? {};
  const methods = [route.method].flat().map((m) => String(m).toUpperCase());
  if (s.body || s.querystring || s.params || s.headers) statuses.push(400);
  // Any body is parsed first: it can be too large, not JSON, or not valid JSON.
  if (methods.some((m) => BODY_METHODS.has(m))) statuses.push(400, 413, 415);
  return [...new Set(statuses)].sort((a, b) => a - b);
}

/**
 * Adds the error schema and, on every documented route registered after this, the error
 * statuses the route's shape implies next to those it declares. Response schemas are
 * documentation only: replies are serialized as they are, so a schema never drops a field.
 */
export function documentErrors(app: FastifyInstance): void {
  app.addSchema(apiErrorSchema);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide) return;
    const declared = (route.schema.response ?? {}) as Record<string, unknown>;
    route.schema = {
      ...route.schema,
      response: { ...errorResponses(...implicitErrorStatuses(route)), ...declared },
    };
  });
}

/** Names the document's shared schemas by their $id (PlanSpec, ApiError) instead of def-N. */
export function localReference(json: { $id?: unknown }, _baseUri: unknown, _fragment: unknown, i: number): string {
  return typeof json.$id === 'string' ? json.$id : `def-${i}`;
}
