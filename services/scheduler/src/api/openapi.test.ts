// The API's contract, without servers: the OpenAPI document passes a standard validator
// and documents every status a route answers with; a method a path does not have is a
// 405 naming the methods it does have.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { fixedApiAccess, newApiToken } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './server.ts';

interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema: Record<string, unknown> }[];
  responses: Record<string, { description: string; headers?: Record<string, unknown> }>;
}

const admin = newApiToken();
const access = fixedApiAccess([{ token: admin, name: 'admin', role: 'admin' }]);

// Routes build their views from these parts only when called: the document needs none.
const api = (): Promise<FastifyInstance> =>
  buildApi({ registry: { contentType: 'text/plain', metrics: async () => '' }, access } as unknown as Parameters<typeof buildApi>[0]);

async function openapi(): Promise<{ openapi: string; paths: Record<string, Record<string, Operation>> }> {
  const app = await api();
  const res = await app.inject({ method: 'GET', url: '/docs/json' });
  assert.equal(res.statusCode, 200);
  return res.json();
}

test('the OpenAPI document passes a standard validator', async () => {
  const doc = await openapi();
  const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
  assert.equal(result.valid, true, `OpenAPI ${doc.openapi}: ${JSON.stringify(result.errors, null, 1)?.slice(0, 2000)}`);
});

test('every route documents the errors it can answer with', async () => {
  const { paths } = await openapi();
  const statuses = (path: string, method: string): string[] => Object.keys(paths[path]?.[method]?.responses ?? {}).sort();
  const has = (path: string, method: string, expected: string[]): void => {
    const got = statuses(path, method);
    for (const s of expected) assert.ok(got.includes(s), `${method.toUpperCase()} ${path} does not document ${s}: ${got.join(' ')}`);
  };
  has('/v1/plans', 'post', ['201', '400', '401', '403', '409', '413', '415', '422', '429', '500', '503']);
  has('/v1/plans', 'get', ['200', '400', '401', '403', '429', '500', '503']);
  has('/v1/plans/{planId}', 'get', ['200', '400', '404', '500', '503']);
  has('/v1/plans/{planId}/pause', 'post', ['200', '400', '401', '403', '404', '409', '413', '415', '503']);
  has('/v1/plans/{planId}/events', 'get', ['200', '401', '403', '404', '429', '503']);
  has('/v1/hosts/{hostId}', 'get', ['200', '401', '404']);
  has('/v1/hosts/{hostId}/logs', 'get', ['200', '400', '401', '404']);
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      assert.deepEqual((op as { security?: unknown }).security, [{ bearer: [] }], `${method} ${path} names the bearer scheme`);
      assert.ok(!('200' in op.responses && op.responses['200']?.description === 'Default Response'), `${method} ${path}: undocumented 200`);
      const errors = Object.keys(op.responses).filter((s) => Number(s) >= 400);
      assert.ok(errors.includes('500'), `${method} ${path} documents no 500`);
      const retry = op.responses['503']?.headers?.['Retry-After'];
      assert.ok(retry, `${method} ${path}: 503 without Retry-After`);
    }
  }
  const idem = paths['/v1/plans']?.post?.parameters?.find((p) => p.name.toLowerCase() === 'idempotency-key');
  assert.ok(idem, 'POST /v1/plans documents its Idempotency-Key header');
  assert.equal(idem.in, 'header');
  assert.equal(idem.required ?? false, false);
});

test('a method a path does not have is a 405 with Allow; an unknown path is a 404', async () => {
  const app = await api();
  const cases: [string, string, string][] = [
    ['DELETE', '/v1/plans', 'GET, HEAD, POST'],
    ['PUT', '/v1/plans/p-1', 'GET, HEAD'],
    ['GET', '/v1/plans/p-1/pause', 'POST'],
    ['POST', '/v1/hosts/h-1/logs?limit=3', 'GET, HEAD'],
  ];
  for (const [method, url, allow] of cases) {
    const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(res.statusCode, 405, `${method} ${url}: ${res.body}`);
    assert.equal(res.headers.allow, allow, `${method} ${url}`);
    assert.equal(res.json().error.code, 'METHOD_NOT_ALLOWED');
  }
  const missing = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, 'NOT_FOUND');
});
