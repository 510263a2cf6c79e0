// The scheduler API as it is served, configured from the environment as main.ts does it:
// over HTTPS (a certificate made here), with a tokens file and an OIDC issuer whose JWKS is
// served on loopback. The issuer's tokens work, a wrong issuer, an expired token or another
// key's signature is 401, a role below the route's is 403, and an identity over its rate
// limit gets 429 while another does not.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { apiEnv, readEnv } from '@yixing/common';
import { apiAuthChecks, apiAuthEnv, hashApiToken, loadApiAccess, newApiToken, tokenLine } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { buildApi } from './server.ts';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

let jwks: Server;
let api: FastifyInstance;
let base = '';
let ca: Buffer;
let issuer = '';
let issuerKey: SigningKey;
const viewerToken = newApiToken();

before(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-api-access-'));
  const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  ca = await readFile(cert);
  const pair = await generateKeyPair('RS256');
  issuerKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'RS256' };
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/realms/ops`;
  const tokens = path.join(dir, 'tokens');
  await writeFile(tokens, `${tokenLine({ name: 'dashboard', role: 'viewer', sha256: hashApiToken(viewerToken) })}\n`);
  const cfg = readEnv(
    { ...apiEnv(0), ...apiAuthEnv },
    {
      YX_API_TOKENS_FILE: tokens,
      YX_API_OIDC_ISSUER: issuer,
      YX_API_OIDC_JWKS_URL: `${issuer}/protocol/openid-connect/certs`,
      YX_API_OIDC_AUDIENCE: 'yixing',
      YX_API_RATE_LIMIT: '20',
      YX_API_TLS_CERT_FILE: cert,
      YX_API_TLS_KEY_FILE: key,
    },
    apiAuthChecks,
  );
  const access = await loadApiAccess(cfg);
  api = await buildApi({ registry: { contentType: 'text/plain', metrics: async () => 'm 1\n' }, access } as unknown as Parameters<
    typeof buildApi
  >[0]);
  base = await api.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await api?.close();
  await new Promise<void>((r) => (jwks ? jwks.close(() => r()) : r()));
});

function call(method: string, url: string, token?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(url, base), { method, ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '' : undefined);
  });
}

const jwt = (claims: JWTPayload, opts: { key?: SigningKey; exp?: number | string } = {}) =>
  new SignJWT({ roles: ['viewer'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
    .setIssuer((claims.iss as string | undefined) ?? issuer)
    .setAudience('yixing')
    .setSubject((claims.sub as string | undefined) ?? 'alice')
    .setExpirationTime(opts.exp ?? '5m')
    .sign(opts.key ?? issuerKey);

test('over HTTPS: the configured issuer’s JWT and a static token are let in; no token is 401', async () => {
  assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await call('GET', '/metrics', await jwt({ sub: 'alice' }))).status, 200);
  assert.equal((await call('GET', '/metrics', viewerToken)).status, 200);
  const anonymous = await call('GET', '/metrics');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="yixing"');
});

test('a wrong issuer, an expired JWT or another key’s signature is 401; a viewer JWT cannot pause (403)', async () => {
  const other = await generateKeyPair('RS256');
  for (const token of [
    await jwt({ sub: 'bob', iss: 'http://127.0.0.1:1/realms/ops' }),
    await jwt({ sub: 'bob' }, { exp: Math.floor(Date.now() / 1000) - 3600 }),
    await jwt({ sub: 'bob' }, { key: other.privateKey }),
  ]) {
    const res = await call('GET', '/metrics', token);
    assert.equal(res.status, 401, res.body);
    assert.equal(JSON.parse(res.body).error.code, 'UNAUTHENTICATED');
  }
  const paused = await call('POST', '/v1/plans/p-20260101-000000000001/pause', await jwt({ sub: 'carol' }));
  assert.equal(paused.status, 403, paused.body);
  assert.equal(JSON.parse(paused.body).error.message, 'carol is a viewer; POST /v1/plans/:planId/pause needs operator');
});

test('an identity over its rate limit gets 429 with Retry-After; another identity is not slowed', async () => {
  const dave = await jwt({ sub: 'dave' });
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) statuses.push((await call('GET', '/metrics', dave)).status);
  assert.deepEqual(statuses, Array(20).fill(200));
  const limited = await call('GET', '/metrics', dave);
  assert.equal(limited.status, 429);
  assert.equal(JSON.parse(limited.body).error.code, 'RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.equal((await call('GET', '/metrics', await jwt({ sub: 'erin' }))).status, 200);
});

test('GET /v1/whoami names the caller, its role and how it was proven (the console shows the role)', async () => {
  const byToken = await call('GET', '/v1/whoami', viewerToken);
  assert.equal(byToken.status, 200);
  assert.deepEqual(JSON.parse(byToken.body), { name: 'dashboard', role: 'viewer', via: 'token' });
  const byJwt = JSON.parse((await call('GET', '/v1/whoami', await jwt({ sub: 'alice' }))).body);
  assert.equal(byJwt.role, 'viewer');
  assert.equal(byJwt.via, 'oidc');
  assert.equal((await call('GET', '/v1/whoami')).status, 401);
});
