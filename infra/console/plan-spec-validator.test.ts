// The console's plan validator answers as the scheduler's API does: the same bodies refused
// with the same field and reason (POST /v1/plans through fastify, as the API is built), and
// a good body accepted by both.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { apiServerOptions, describeValidation, installApiErrors } from '@yixing/common/http';
import Fastify from 'fastify';
import { planSpecSchema } from '../../services/scheduler/src/plans/plan-spec.ts';
import { planSpecValidatorCode } from './plan-spec-validator.ts';

type Validate = ((body: unknown) => boolean) & { errors?: Parameters<typeof describeValidation>[1][] | null };

async function consoleValidator(): Promise<Validate> {
  const mod = { exports: {} as Validate };
  new Function('module', 'exports', 'require', await planSpecValidatorCode())(mod, mod.exports, createRequire(import.meta.url));
  return mod.exports;
}

async function apiAnswer(body: unknown): Promise<{ status: number; field?: string; reason?: string }> {
  const app = Fastify(apiServerOptions({}));
  installApiErrors(app, { service: 'test' });
  app.addSchema(planSpecSchema);
  app.post('/v1/plans', { schema: { body: { $ref: 'PlanSpec#' } } }, async () => ({ ok: true }));
  const res = await app.inject({ method: 'POST', url: '/v1/plans', payload: body as object });
  await app.close();
  const err = (res.json() as { error?: { field: string; reason: string } }).error;
  return { status: res.statusCode, ...(err ? { field: err.field, reason: err.reason } : {}) };
}

const GOOD = {
  name: 'p',
  selector: { pool: 'a' },
  profile: 'centos-7-to-openeuler-22.03',
  canary: { count: 1 },
  waves: [{ percent: 50 }, { percent: 100 }],
  limits: { maxInFlight: 4, perCluster: { count: 1 } },
  errorBudget: { plan: { percent: 5 } },
  windows: [{ days: ['sat', 'sun'], from: '01:00', to: '05:00', timezone: 'Asia/Shanghai' }],
  onFailure: 'hold',
};

const BAD: Record<string, unknown>[] = [
  { ...GOOD, limits: { maxInFlight: 0 } },
  { ...GOOD, limits: { maxInFlight: '4' } },
  { ...GOOD, name: '' },
  { ...GOOD, selector: {} },
  { ...GOOD, selector: { pool: 'a', colour: 'red' } },
  { ...GOOD, canary: { count: 1, percent: 5 } },
  { ...GOOD, waves: [{ percent: 0 }] },
  { ...GOOD, onFailure: 'ignore' },
  { ...GOOD, profile: 'no spaces allowed' },
  { ...GOOD, windows: [{ days: ['mon'], from: '25:00', to: '05:00' }] },
  { ...GOOD, windows: [{ start: 'tomorrow', end: '2030-01-01T00:00:00Z' }] },
  { name: 'p', profile: 'x' },
  { ...GOOD, retries: 3 },
];

test('a body the API accepts, the console accepts', async () => {
  const validate = await consoleValidator();
  assert.equal((await apiAnswer(GOOD)).status, 200);
  assert.equal(validate(GOOD), true, JSON.stringify(validate.errors));
});

test('each bad body: the console names the field and reason the API answers with', async () => {
  const validate = await consoleValidator();
  for (const body of BAD) {
    const api = await apiAnswer(body);
    assert.equal(api.status, 400, JSON.stringify(body));
    assert.equal(validate(body), false, JSON.stringify(body));
    const mine = describeValidation('body', validate.errors?.[0] as Parameters<typeof describeValidation>[1]);
    assert.deepEqual(mine, { field: api.field, reason: api.reason }, JSON.stringify(body));
  }
});
