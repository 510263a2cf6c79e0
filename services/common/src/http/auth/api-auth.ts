// Every route of an API behind its table of least roles: a route without an entry stops
// the API from being built (nothing is served open by omission); a protected route
// authenticates the bearer token before anything else runs (401), checks the role (403),
// and then counts the request against its identity's rate limit (429) before the body is
// read. Handlers find the caller in req.identity; no header names an actor.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { API_ERROR_SCHEMA_ID, errorResponses } from '../openapi.ts';
import type { Authenticator } from './authenticator.ts';
import { ForbiddenError, RateLimitedError, UnauthenticatedError } from './errors.ts';
import { type Access, type Identity, type RouteRoles, roleAtLeast, routeKey } from './roles.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of a protected route; null on a public one. */
    identity: Identity | null;
  }
  interface FastifyInstance {
    /** Every route as installApiAuth guards it: `METHOD /path` → what it needs (HEAD folded into GET). */
    guardedRoutes: ReadonlyMap<string, Access>;
  }
  interface FastifyContextConfig {
    /** The route's entry in its API's RouteRoles table. */
    access?: Access;
  }
}

export interface RateLimitConfig {
  /** Requests an identity may make in a window. */
  max: number;
  windowMs: number;
}

export interface ApiAuthOptions {
  authenticator: Authenticator;
  routeRoles: RouteRoles;
  rateLimit: RateLimitConfig;
}

/** The OpenAPI security scheme every protected route names. */
export const BEARER_SCHEME = 'bearer';
export const apiSecuritySchemes = {
  [BEARER_SCHEME]: {
    type: 'http',
    scheme: 'bearer',
    description: 'A static API token (yx_…) or an OIDC access token (JWT) of the configured issuer.',
  },
} as const;

/** The caller of a protected route (handlers call it for the audit actor). */
export function identityOf(req: FastifyRequest): Identity {
  if (!req.identity) throw new UnauthenticatedError(`${req.method} ${req.url} was served without an identity`);
  return req.identity;
}

/** The rate-limit key: the identity (how it was proven, and its name); a public route's caller by address. */
export const rateLimitKey = (req: FastifyRequest): string => (req.identity ? `${req.identity.via}:${req.identity.name}` : `ip:${req.ip}`);

/** Installs authentication, roles and rate limits; call before the API's routes are added. */
export async function installApiAuth(app: FastifyInstance, opts: ApiAuthOptions): Promise<void> {
  app.decorateRequest('identity', null);
  const guarded = new Map<string, Access>();
  app.decorate('guardedRoutes', guarded);
  // After authentication (onRequest), before the body is read.
  await app.register(rateLimit, {
    hook: 'preParsing',
    max: opts.rateLimit.max,
    timeWindow: opts.rateLimit.windowMs,
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (req, ctx) =>
      new RateLimitedError(
        `${rateLimitKey(req)} sent more than ${ctx.max} requests in ${opts.rateLimit.windowMs / 1000} s`,
        Math.max(1, Math.ceil(ctx.ttl / 1000)),
        {
          details: { limit: ctx.max, windowSeconds: opts.rateLimit.windowMs / 1000 },
        },
      ),
  });
  app.addHook('onRoute', (route) => {
    const keys = [route.method].flat().map((m) => routeKey(String(m), route.url));
    const missing = keys.filter((k) => !Object.hasOwn(opts.routeRoles, k));
    if (missing.length > 0) throw new Error(`${missing.join(', ')}: no entry in the API's route roles table; every route needs one`);
    const needs = [...new Set(keys.map((k) => opts.routeRoles[k] as Access))];
    if (needs.length !== 1) throw new Error(`${keys.join(', ')}: one route, different roles (${needs.join(', ')})`);
    const access = needs[0] as Access;
    for (const k of keys) guarded.set(k, access);
    route.config = { ...route.config, access };
    // Documented where the API documents its errors (documentErrors added their schema).
    if (route.schema && !route.schema.hide && app.getSchema(API_ERROR_SCHEMA_ID)) {
      route.schema = {
        ...route.schema,
        ...(access === 'public' ? {} : { security: [{ [BEARER_SCHEME]: [] }] }),
        response: { ...errorResponses(...(access === 'public' ? [429] : [401, 403, 429])), ...(route.schema.response as object) },
      };
    }
    if (access === 'public') return;
    const check: onRequestAsyncHookHandler = async (req) => {
      const identity = await opts.authenticator.authenticate(req.headers.authorization);
      if (!roleAtLeast(identity.role, access)) {
        throw new ForbiddenError(
          `${identity.name} is ${article(identity.role)} ${identity.role}; ${routeKey(req.method, route.url)} needs ${access}`,
          {
            details: { role: identity.role, needs: access },
          },
        );
      }
      req.identity = identity;
    };
    route.onRequest = [check, ...[route.onRequest ?? []].flat()];
  });
}

const article = (word: string): string => (/^[aeiou]/.test(word) ? 'an' : 'a');
