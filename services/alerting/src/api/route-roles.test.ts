// The route roles table is the alerting API's access policy: every route has an entry and
// every entry a route; each route answers 401 without a token and 403 to the role below
// its entry; the OpenAPI document passes a standard validator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { fixedApiAccess, newApiToken, ROLES, type Role } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import { buildAlertingApi } from './alerting.routes.ts';
import { alertingRouteRoles } from './route-roles.ts';

const tokens = Object.fromEntries(ROLES.map((r) => [r, newApiToken()])) as Record<Role, string>;
const access = fixedApiAccess(ROLES.map((role) => ({ token: tokens[role], name: `the-${role}`, role })));

// The stores are absent: what is checked here happens before any handler.
const api = (): Promise<FastifyInstance> =>
  buildAlertingApi({
    registry: { contentType: 'text/plain', metrics: async () => '' },
    access,
    consoleUrl: 'https://console.example',
    clock: Date.now,
  } as unknown as Parameters<typeof buildAlertingApi>[0]);

test('every route of the alerting API has an entry in the table, and every entry is a route', async () => {
  const app = await api();
  assert.deepEqual([...app.guardedRoutes.keys()].sort(), Object.keys(alertingRouteRoles).sort());
  for (const [key, needs] of app.guardedRoutes) assert.equal(needs, alertingRouteRoles[key], key);
});

test('each protected route is 401 without a token and 403 to the role below its entry', async () => {
  const app = await api();
  const url = (path: string) => path.replace(':fingerprint', '0123456789abcdef').replace(':id', 's-00000000-0000-0000-0000-000000000000');
  for (const [key, needs] of Object.entries(alertingRouteRoles)) {
    if (needs === 'public') continue;
    const [method, path] = key.split(' ') as ['GET' | 'POST' | 'DELETE', string];
    const call = (role?: Role) =>
      app.inject({
        method,
        url: url(path),
        headers: role ? { authorization: `Bearer ${tokens[role]}` } : {},
        ...(method === 'POST' ? { payload: {} } : {}),
      });
    const anonymous = await call();
    assert.equal(anonymous.statusCode, 401, `${key} without a token: ${anonymous.body}`);
    const below = ROLES[ROLES.indexOf(needs) - 1];
    if (below) {
      const res = await call(below);
      assert.equal(res.statusCode, 403, `${key} as ${below}: ${res.body}`);
      assert.equal(res.json().error.needs, needs);
    }
  }
});

test('the PagerDuty webhook takes no token, and without a configured secret refuses every call (401)', async () => {
  const app = await api();
  const res = await app.inject({ method: 'POST', url: '/v1/webhooks/pagerduty', payload: { event: { event_type: 'pagey.ping' } } });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
});

test('the OpenAPI document passes a standard validator and documents the errors', async () => {
  const app = await api();
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
  const result = await new Validator().validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  const responses = (path: string, method: string) => Object.keys(doc.paths[path]?.[method]?.responses ?? {}).sort();
  for (const s of ['200', '401', '403', '404', '409']) assert.ok(responses('/v1/alerts/{fingerprint}/ack', 'post').includes(s), s);
  for (const s of ['201', '400', '401', '403', '415']) assert.ok(responses('/v1/silences', 'post').includes(s), s);
  assert.ok(!responses('/v1/webhooks/pagerduty', 'post').includes('403'));
});
