// Who may do what through an API: three roles, each allowed what the one below it is, and
// per API one table naming the least role of every route (or 'public').

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs: a role at least, or nothing at all. */
export type Access = Role | 'public';

/** An authenticated caller: the name the audit log records, and its role. */
export interface Identity {
  name: string;
  role: Role;
  /** How it was proven: a static API token or an OIDC JWT. */
  via: 'token' | 'oidc';
  /** When its credential stops being valid (a JWT's exp); long requests end then. */
  expiresAtMs?: number;
}

/** A route's least role, by `METHOD /path` with fastify's parameter syntax (`GET /v1/plans/:planId`). */
export type RouteRoles = Readonly<Record<string, Access>>;

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

export const roleAtLeast = (role: Role, least: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(least);

/** The key of a route in a RouteRoles table; HEAD is answered like GET, and needs what GET needs. */
export const routeKey = (method: string, url: string): string => `${method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase()} ${url}`;
