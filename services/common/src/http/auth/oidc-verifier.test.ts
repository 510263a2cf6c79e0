// OIDC access tokens against a real JWKS endpoint on loopback, signed here as an identity
// provider would: the issuer's token is accepted; a wrong issuer or audience, an expired
// token, another key's signature or a symmetric algorithm are 401; no role is 403; an
// issuer whose keys cannot be fetched is a 503 (try again), not a 401.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { UnavailableError } from '../../errors.ts';
import { ForbiddenError, UnauthenticatedError } from './errors.ts';
import { type OidcConfig, oidcVerifier, roleOfClaim } from './oidc-verifier.ts';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let server: Server;
let cfg: OidcConfig;
let sign: (claims: JWTPayload, opts?: { key?: SigningKey; kid?: string; exp?: number | string; alg?: string }) => Promise<string>;

before(async () => {
  const issuerKey = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(issuerKey.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    if (req.url !== '/jwks') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cfg = {
    issuer: `${base}/realms/ops`,
    jwksUrl: `${base}/jwks`,
    audience: 'yixing-api',
    roleClaim: 'roles',
    nameClaim: 'preferred_username',
  };
  sign = async (claims, opts = {}) =>
    new SignJWT({ preferred_username: 'alice@example.com', roles: ['operator'], ...claims })
      .setProtectedHeader({ alg: opts.alg ?? 'ES256', kid: opts.kid ?? 'k1' })
      .setIssuer((claims.iss as string | undefined) ?? cfg.issuer)
      .setAudience((claims.aud as string | undefined) ?? cfg.audience)
      .setSubject('0b4c')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(opts.key ?? issuerKey.privateKey);
});

after(() => new Promise<void>((r) => server.close(() => r())));

const refused = async (verify: Promise<unknown>, cls: typeof UnauthenticatedError | typeof ForbiddenError, reason?: RegExp) =>
  assert.rejects(verify, (err: unknown) => {
    assert.ok(err instanceof cls, `${(err as Error).constructor.name}: ${(err as Error).message}`);
    if (reason) assert.match(err.message, reason);
    return true;
  });

test("the configured issuer's token names its caller and role", async () => {
  const verify = oidcVerifier(cfg);
  const identity = await verify(await sign({ roles: ['viewer', 'operator', 'other'] }));
  assert.equal(identity.name, 'alice@example.com');
  assert.equal(identity.role, 'operator');
  assert.equal(identity.via, 'oidc');
  assert.ok(identity.expiresAtMs !== undefined && identity.expiresAtMs > Date.now());
});

test('a nested role claim is read by its dotted path', async () => {
  const verify = oidcVerifier({ ...cfg, roleClaim: 'resource_access.yixing.roles' });
  const identity = await verify(await sign({ roles: [], resource_access: { yixing: { roles: ['admin'] } } }));
  assert.equal(identity.role, 'admin');
});

test('a wrong issuer, a wrong audience, an expired token, another key or a symmetric algorithm is 401', async () => {
  const verify = oidcVerifier(cfg);
  await refused(verify(await sign({ iss: 'http://127.0.0.1:1/realms/evil' })), UnauthenticatedError, /iss/);
  await refused(verify(await sign({ aud: 'another-api' })), UnauthenticatedError, /aud/);
  await refused(verify(await sign({}, { exp: Math.floor(Date.now() / 1000) - 120 })), UnauthenticatedError, /exp/);
  const forger = await generateKeyPair('ES256');
  await refused(verify(await sign({}, { key: forger.privateKey })), UnauthenticatedError, /signature/);
  await refused(verify(await sign({}, { key: forger.privateKey, kid: 'k2' })), UnauthenticatedError);
  const secret = new TextEncoder().encode('a shared secret anybody with the JWKS URL might guess');
  const hs = await new SignJWT({ roles: ['admin'], preferred_username: 'mallory' })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setIssuer(cfg.issuer)
    .setAudience(cfg.audience)
    .setExpirationTime('5m')
    .sign(secret);
  await refused(verify(hs), UnauthenticatedError);
  const [h, p] = (await sign({})).split('.');
  await refused(verify(`${h}.${p}.`), UnauthenticatedError);
});

test('a token without a Yixing role is 403; one whose name the audit log cannot record is 401', async () => {
  const verify = oidcVerifier(cfg);
  await refused(verify(await sign({ roles: ['superuser'] })), ForbiddenError, /no Yixing role/);
  await refused(verify(await sign({ roles: 'admin', preferred_username: 'eve\nadmin' })), UnauthenticatedError, /preferred_username/);
  assert.equal(roleOfClaim('admin'), 'admin');
  assert.equal(roleOfClaim(['viewer', 'admin', 'operator']), 'admin');
  assert.equal(roleOfClaim({ admin: true }), undefined);
});

test('an issuer whose keys cannot be fetched is 503 (retryable), not 401', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const verify = oidcVerifier({ ...cfg, jwksUrl: `http://127.0.0.1:${port}/jwks` });
  await assert.rejects(verify(await sign({})), (err: unknown) => err instanceof UnavailableError && err.retryable);
});
