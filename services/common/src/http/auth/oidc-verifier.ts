// OIDC access tokens: JWTs signed by a configured issuer, checked with the keys of its
// JWKS (fetched and cached by jose, fetched again for a key id it has not seen). The
// identity's name is a claim (sub by default) and its role the highest Yixing role found
// in another (roles by default; a dotted path reaches nested claims such as
// resource_access.yixing.roles). A token's own fault is a 401; an issuer whose keys
// cannot be fetched is a 503, since trying again may work.
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { UnavailableError } from '../../errors.ts';
import { IDENTITY_NAME_PATTERN } from './api-tokens.ts';
import { ForbiddenError, UnauthenticatedError } from './errors.ts';
import { type Identity, isRole, ROLES, type Role } from './roles.ts';

export interface OidcConfig {
  /** The `iss` every token must carry, exactly. */
  issuer: string;
  /** Where the issuer publishes its signing keys. */
  jwksUrl: string;
  /** The `aud` every token must carry: this API. */
  audience: string;
  /** Claim (a dotted path) holding a role name or a list of them. */
  roleClaim: string;
  /** Claim naming the identity in the audit log. */
  nameClaim: string;
  /** Clock skew allowed on exp and nbf. */
  clockToleranceSeconds?: number;
  /** Timeout of a JWKS fetch. */
  jwksTimeoutMs?: number;
}

/** Asymmetric algorithms only: a symmetric one would let anyone holding the key mint tokens. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** jose error codes that mean the token itself is not acceptable (anything else: the issuer's keys could not be had). */
const TOKEN_FAULTS = new Set([
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_EXPIRED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
]);

/** The value at a dotted path of the claims. */
function claimAt(payload: JWTPayload, path: string): unknown {
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** The highest role a claim names, if any. */
export function roleOfClaim(value: unknown): Role | undefined {
  const values = Array.isArray(value) ? value : [value];
  const found = values.filter(isRole);
  return [...ROLES].reverse().find((r) => found.includes(r));
}

export type OidcVerifier = (jwt: string) => Promise<Identity>;

export function oidcVerifier(cfg: OidcConfig): OidcVerifier {
  const jwks = createRemoteJWKSet(new URL(cfg.jwksUrl), { timeoutDuration: cfg.jwksTimeoutMs ?? 5_000 });
  return async (jwt) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, jwks, {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: ALGORITHMS,
        clockTolerance: cfg.clockToleranceSeconds ?? 30,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && TOKEN_FAULTS.has(code)) {
        throw new UnauthenticatedError(`the token is not accepted: ${(err as Error).message}`, { details: { reason: code } });
      }
      throw new UnavailableError(`the signing keys of ${cfg.issuer} could not be fetched from ${cfg.jwksUrl}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const name = claimAt(payload, cfg.nameClaim);
    if (typeof name !== 'string' || !IDENTITY_NAME_PATTERN.test(name)) {
      throw new UnauthenticatedError(
        `the token's ${cfg.nameClaim} claim is not a name the audit log can record (${IDENTITY_NAME_PATTERN})`,
      );
    }
    const role = roleOfClaim(claimAt(payload, cfg.roleClaim));
    if (!role) {
      throw new ForbiddenError(`${name} has no Yixing role: the token's ${cfg.roleClaim} claim names none of ${ROLES.join(', ')}`);
    }
    return { name, role, via: 'oidc', ...(payload.exp === undefined ? {} : { expiresAtMs: payload.exp * 1000 }) };
  };
}
