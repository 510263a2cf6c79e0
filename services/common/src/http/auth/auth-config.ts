// How an API authenticates and serves, from the environment (declared once here, spread
// into each API service's readEnv spec): static tokens, an OIDC issuer, rate limits and
// TLS. Variables that must agree are checked together, with every other problem at once.
import { readFile } from 'node:fs/promises';
import { type EnvCheck, int, str } from '../../config/env.ts';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { RateLimitConfig } from './api-auth.ts';
import { hashApiToken, StaticTokens, TokenFile } from './api-tokens.ts';
import { type Authenticator, bearerAuthenticator } from './authenticator.ts';
import { oidcVerifier } from './oidc-verifier.ts';
import type { Role } from './roles.ts';

const httpUrl = str({ pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/ });

export const apiAuthEnv = {
  YX_API_TOKENS_FILE: {
    doc: 'file of static API tokens, a line each: NAME ROLE sha256:HEX (yx token new prints one); read again when it changes',
    parse: str(),
    default: '',
  },
  YX_API_OIDC_ISSUER: { doc: 'issuer (iss) of accepted OIDC access tokens; empty: JWTs are refused', parse: httpUrl, default: '' },
  YX_API_OIDC_JWKS_URL: { doc: "URL of the issuer's signing keys (JWKS)", parse: httpUrl, default: '' },
  YX_API_OIDC_AUDIENCE: { doc: 'audience (aud) accepted tokens carry: this API', parse: str(), default: '' },
  YX_API_OIDC_ROLE_CLAIM: {
    doc: 'claim (dotted path) holding viewer, operator or admin, or a list of them',
    parse: str({ pattern: /^[\w:-]+(\.[\w:-]+)*$/ }),
    default: 'roles',
  },
  YX_API_OIDC_NAME_CLAIM: {
    doc: 'claim naming the caller in the audit log',
    parse: str({ pattern: /^[\w:-]+(\.[\w:-]+)*$/ }),
    default: 'sub',
  },
  YX_API_RATE_LIMIT: { doc: 'requests an identity may make per rate window', parse: int({ min: 1, max: 10_000_000 }), default: 1200 },
  YX_API_RATE_WINDOW_MS: { doc: 'the rate window', parse: int({ min: 100, max: 3_600_000 }), default: 60_000 },
  YX_API_TLS_CERT_FILE: { doc: 'PEM certificate (chain) to serve the API over HTTPS', parse: str(), default: '' },
  YX_API_TLS_KEY_FILE: { doc: 'PEM private key of the certificate', parse: str(), default: '' },
};

type ApiAuthEnv = { [K in keyof typeof apiAuthEnv]: (typeof apiAuthEnv)[K]['default'] };

/** The variables of apiAuthEnv that only work together. */
export const apiAuthChecks: EnvCheck[] = [
  (v) => {
    const oidc = ['YX_API_OIDC_ISSUER', 'YX_API_OIDC_JWKS_URL', 'YX_API_OIDC_AUDIENCE'];
    const set = oidc.filter((k) => v[k]);
    return set.length > 0 && set.length < oidc.length
      ? [
          `${oidc.filter((k) => !v[k]).join(', ')} must be set with ${set.join(', ')}: an OIDC issuer needs its JWKS and this API's audience`,
        ]
      : [];
  },
  (v) =>
    Boolean(v.YX_API_TLS_CERT_FILE) !== Boolean(v.YX_API_TLS_KEY_FILE)
      ? ['YX_API_TLS_CERT_FILE and YX_API_TLS_KEY_FILE go together: both for HTTPS, neither for HTTP']
      : [],
  (v) =>
    'YX_API_TOKENS_FILE' in v && 'YX_API_OIDC_ISSUER' in v && !v.YX_API_TOKENS_FILE && !v.YX_API_OIDC_ISSUER
      ? ['YX_API_TOKENS_FILE or YX_API_OIDC_ISSUER is required: every API request is authenticated, and neither names anyone']
      : [],
];

export interface ApiAccess {
  authenticator: Authenticator;
  rateLimit: RateLimitConfig;
  /** For fastify's `https` option; absent: plain HTTP. */
  tls?: { cert: Buffer; key: Buffer };
}

/** Reads the tokens file and the TLS files the configuration names; problems with either are one ConfigError. */
export async function loadApiAccess(cfg: ApiAuthEnv, log?: Logger): Promise<ApiAccess> {
  const problems: string[] = [];
  const tokens = cfg.YX_API_TOKENS_FILE
    ? await TokenFile.open(cfg.YX_API_TOKENS_FILE, log ? { log } : {}).catch((err: Error) => {
        problems.push(err.message);
        return undefined;
      })
    : undefined;
  const pem = async (name: string, file: string): Promise<Buffer | undefined> =>
    readFile(file).catch((err: Error) => {
      problems.push(`${name}: cannot read ${file}: ${err.message}`);
      return undefined;
    });
  const cert = cfg.YX_API_TLS_CERT_FILE ? await pem('YX_API_TLS_CERT_FILE', cfg.YX_API_TLS_CERT_FILE) : undefined;
  const key = cfg.YX_API_TLS_KEY_FILE ? await pem('YX_API_TLS_KEY_FILE', cfg.YX_API_TLS_KEY_FILE) : undefined;
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
  const authenticator = bearerAuthenticator({
    ...(tokens ? { tokens: tokens.tokens, refreshTokens: () => tokens.refresh() } : {}),
    ...(cfg.YX_API_OIDC_ISSUER
      ? {
          oidc: oidcVerifier({
            issuer: cfg.YX_API_OIDC_ISSUER,
            jwksUrl: cfg.YX_API_OIDC_JWKS_URL,
            audience: cfg.YX_API_OIDC_AUDIENCE,
            roleClaim: cfg.YX_API_OIDC_ROLE_CLAIM,
            nameClaim: cfg.YX_API_OIDC_NAME_CLAIM,
          }),
        }
      : {}),
  });
  return {
    authenticator,
    rateLimit: { max: cfg.YX_API_RATE_LIMIT, windowMs: cfg.YX_API_RATE_WINDOW_MS },
    ...(cert && key ? { tls: { cert, key } } : {}),
  };
}

/** An ApiAccess of tokens given here (a server built in process: tests, embedding); plain HTTP. */
export function fixedApiAccess(
  tokens: readonly { token: string; name: string; role: Role }[],
  rateLimit: RateLimitConfig = { max: apiAuthEnv.YX_API_RATE_LIMIT.default, windowMs: apiAuthEnv.YX_API_RATE_WINDOW_MS.default },
): ApiAccess {
  const known = new StaticTokens(tokens.map((t) => ({ name: t.name, role: t.role, sha256: hashApiToken(t.token) })));
  return { authenticator: bearerAuthenticator({ tokens: known }), rateLimit };
}
