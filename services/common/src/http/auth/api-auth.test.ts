import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { installApiErrors } from '../api-errors.ts';
import { identityOf, installApiAuth } from './api-auth.ts';
import { hashApiToken, newApiToken, StaticTokens } from './api-tokens.ts';
import { bearerAuthenticator } from './authenticator.ts';
import type { Role, RouteRoles } from './roles.ts';

const tokens: Record<Role, string> = { viewer: newApiToken(), operator: newApiToken(), admin: newApiToken() };
const authenticator = bearerAuthenticator({
  tokens: new StaticTokens(
    Object.entries(tokens).map(([role, t]) => ({ name: `the-${role}`, role: role as Role, sha256: hashApiToken(t) })),
  ),
});
const bearer = (role: Role) => ({ authorization: `Bearer ${tokens[role]}` });

const table: RouteRoles = {
  'GET /healthz': 'public',
  'GET /things': 'viewer',
  'POST /things/:id/poke': 'operator',
  'DELETE /things/:id': 'admin',
};

async function build(routeRoles = table, max = 1000): Promise<FastifyInstance> {
  const app = Fastify();
  installApiErrors(app, { service: 'test' });
  await installApiAuth(app, { authenticator, routeRoles, rateLimit: { max, windowMs: 60_000 } });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/things', async (req) => ({ caller: identityOf(req).name }));
  app.post('/things/:id/poke', async (req) => ({ by: identityOf(req).name }));
  app.delete('/things/:id', async () => ({ deleted: true }));
  await app.ready();
  return app;
}

test('a route missing from the table stops the API from being built', async () => {
  const { 'DELETE /things/:id': _, ...partial } = table;
  await assert.rejects(build(partial), /DELETE \/things\/:id: no entry in the API's route roles table/);
});

test('no token, a malformed or unknown one is 401 with WWW-Authenticate; a public route needs none', async () => {
  const app = await build();
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  for (const authorization of [
    undefined,
    'Basic YWxpY2U6cHc=',
    `Bearer ${newApiToken()}`,
    'Bearer ',
    `Bearer ${'a'.repeat(9000)}`,
    'Bearer a.b.c',
  ]) {
    const res = await app.inject({ url: '/things', headers: authorization === undefined ? {} : { authorization } });
    assert.equal(res.statusCode, 401, `${authorization?.slice(0, 40)}: ${res.body}`);
    assert.equal(res.json().error.code, 'UNAUTHENTICATED');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="yixing"');
  }
  // HEAD is GET without a body, and as closed.
  assert.equal((await app.inject({ method: 'HEAD', url: '/things' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'HEAD', url: '/things', headers: bearer('viewer') })).statusCode, 200);
});

test('each role reaches what its table entry allows and is 403 above it, naming the role needed', async () => {
  const app = await build();
  const status = async (role: Role, method: 'GET' | 'POST' | 'DELETE', url: string) =>
    (await app.inject({ method, url, headers: bearer(role), ...(method === 'POST' ? { payload: {} } : {}) })).statusCode;
  assert.deepEqual(await Promise.all((['viewer', 'operator', 'admin'] as const).map((r) => status(r, 'GET', '/things'))), [200, 200, 200]);
  assert.deepEqual(
    await Promise.all((['viewer', 'operator', 'admin'] as const).map((r) => status(r, 'POST', '/things/1/poke'))),
    [403, 200, 200],
  );
  assert.deepEqual(
    await Promise.all((['viewer', 'operator', 'admin'] as const).map((r) => status(r, 'DELETE', '/things/1'))),
    [403, 403, 200],
  );
  const res = await app.inject({ method: 'POST', url: '/things/1/poke', headers: bearer('viewer'), payload: {} });
  assert.deepEqual(res.json().error, {
    code: 'FORBIDDEN',
    message: 'the-viewer is a viewer; POST /things/:id/poke needs operator',
    retryable: false,
    role: 'viewer',
    needs: 'operator',
  });
  assert.equal((await app.inject({ url: '/things', headers: bearer('operator') })).json().caller, 'the-operator');
});

test('an identity over its rate limit is 429 with Retry-After; another identity is not slowed', async () => {
  const app = await build(table, 3);
  for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/things', headers: bearer('viewer') })).statusCode, 200);
  const limited = await app.inject({ url: '/things', headers: bearer('viewer') });
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().error.code, 'RATE_LIMITED');
  assert.equal(limited.json().error.retryable, true);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.equal((await app.inject({ url: '/things', headers: bearer('operator') })).statusCode, 200);
  // Refused before authentication is not counted against anyone, and not limited here.
  assert.equal((await app.inject({ url: '/things' })).statusCode, 401);
});
