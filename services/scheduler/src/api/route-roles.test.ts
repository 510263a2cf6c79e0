// The route roles table is the scheduler API's access policy: every route has an entry
// and every entry a route, and each route answers 401 without a token, 403 to the role
// below its entry and lets its own role through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixedApiAccess, newApiToken, ROLES, type Role } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import { schedulerRouteRoles } from './route-roles.ts';
import { buildApi } from './server.ts';

const tokens = Object.fromEntries(ROLES.map((r) => [r, newApiToken()])) as Record<Role, string>;
const access = fixedApiAccess(ROLES.map((role) => ({ token: tokens[role], name: `the-${role}`, role })));

// The parts a handler would use are absent: what is checked here happens before any handler.
const api = (): Promise<FastifyInstance> =>
  buildApi({ registry: { contentType: 'text/plain', metrics: async () => '' }, access } as unknown as Parameters<typeof buildApi>[0]);

test('every route of the scheduler API has an entry in the table, and every entry is a route', async () => {
  const app = await api();
  assert.deepEqual([...app.guardedRoutes.keys()].sort(), Object.keys(schedulerRouteRoles).sort());
  for (const [key, needs] of app.guardedRoutes) assert.equal(needs, schedulerRouteRoles[key], key);
});

test('each route is 401 without a token, 403 to the role below its entry, and open to its own role', async () => {
  const app = await api();
  const url = (path: string) => path.replace(':planId', 'p-20260101-000000000001').replace(':hostId', 'h-1');
  for (const [key, needs] of Object.entries(schedulerRouteRoles)) {
    const [method, path] = key.split(' ') as ['GET' | 'POST', string];
    const call = (role?: Role) =>
      app.inject({
        method,
        url: url(path),
        headers: role ? { authorization: `Bearer ${tokens[role]}` } : {},
        ...(method === 'POST' ? { payload: {} } : {}),
      });
    if (needs === 'public') {
      assert.notEqual((await call()).statusCode, 401, key);
      continue;
    }
    const anonymous = await call();
    assert.equal(anonymous.statusCode, 401, `${key} without a token: ${anonymous.body}`);
    const below = ROLES[ROLES.indexOf(needs) - 1];
    if (below) {
      const res = await call(below);
      assert.equal(res.statusCode, 403, `${key} as ${below}: ${res.body}`);
      assert.equal(res.json().error.needs, needs);
    }
    // The stream would hang on the absent engine; its own role is checked by the other tests.
    if (path.endsWith('/events')) continue;
    const own = await call(needs);
    assert.ok(![401, 403].includes(own.statusCode), `${key} as ${needs}: ${own.statusCode} ${own.body}`);
  }
});

test('a viewer cannot pause a plan', async () => {
  const app = await api();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/plans/p-20260101-000000000001/pause',
    headers: { authorization: `Bearer ${tokens.viewer}` },
    payload: {},
  });
  assert.equal(res.statusCode, 403);
  assert.equal(res.json().error.message, 'the-viewer is a viewer; POST /v1/plans/:planId/pause needs operator');
});
