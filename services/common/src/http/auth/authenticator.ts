// Who is calling: the request's bearer token (RFC 6750), a static API token or, when an
// issuer is configured, an OIDC JWT. Nothing else is trusted (no actor header, no address).

import { API_TOKEN_PREFIX, type StaticTokens } from './api-tokens.ts';
import { UnauthenticatedError } from './errors.ts';
import type { OidcVerifier } from './oidc-verifier.ts';
import type { Identity } from './roles.ts';

export interface Authenticator {
  /** The identity proven by an Authorization header; UnauthenticatedError if none is. */
  authenticate(authorization: string | undefined): Promise<Identity>;
}

export interface BearerSources {
  tokens?: StaticTokens;
  /** Reads a changed tokens file again before a lookup. */
  refreshTokens?: () => Promise<void>;
  oidc?: OidcVerifier;
}

/** RFC 6750 b64token; longer than any token this API issues or an IdP signs, refused unread. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,8192}=*) *$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function bearerAuthenticator(sources: BearerSources): Authenticator {
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') {
        throw new UnauthenticatedError('no credentials: send Authorization: Bearer <token> (yx reads YX_TOKEN)');
      }
      const token = BEARER.exec(authorization)?.[1];
      if (!token) throw new UnauthenticatedError('the Authorization header is not "Bearer <token>"');
      if (token.startsWith(API_TOKEN_PREFIX)) {
        await sources.refreshTokens?.();
        const identity = sources.tokens?.identify(token);
        if (!identity) throw new UnauthenticatedError('the API token is not known here (revoked, mistyped, or of another installation)');
        return identity;
      }
      if (sources.oidc && JWT_SHAPE.test(token)) return sources.oidc(token);
      throw new UnauthenticatedError(
        sources.oidc
          ? 'the bearer token is neither an API token nor a JWT'
          : 'the bearer token is not an API token (no OIDC issuer is configured)',
      );
    },
  };
}
