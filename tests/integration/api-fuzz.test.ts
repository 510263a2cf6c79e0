// Malformed requests against both APIs, built on real NATS and FerretDB with a real fleet:
// at least 10,000 of them (fast-check, seeded: YX_FUZZ_SEED reproduces a run), spread over
// every route of the route roles tables and every parameter of each (path, query, headers,
// every field the plan schema knows, the body as a whole, its media type, the token).
// None may be answered with a 5xx, none may crash the process or leave a polluted
// prototype, and the APIs still serve afterwards.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type BackupApp, buildBackupApp, parseKey } from '@yixing/backup';
import { createRegistry, silentLogger } from '@yixing/common';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { testApiAccess } from '../fixtures/api-access.ts';
import { type FuzzRequest, malformedRequest, type RouteCase } from '../fixtures/api-fuzz.ts';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';

const SEED = Number(process.env.YX_FUZZ_SEED ?? 20260501);
const RUNS = { scheduler: 8_000, backup: 2_000 };
/** Far above what the fuzz sends: the limit is tested elsewhere, here every request must reach its route. */
const rateLimit = { max: 1_000_000, windowMs: 60_000 };

let stack: InProcessStack;
let backup: BackupApp;
let planId = '';
const unhandled: unknown[] = [];
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
const onUnhandled = (err: unknown): void => {
  unhandled.push(err);
};

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  stack = await startInProcess('api_fuzz', {}, { rateLimit });
  await stack.addFleet({ pool: 'fuzz', prefix: 'fz', size: 4, clusters: 2 });
  const created = await stack.inject({ method: 'POST', url: '/v1/plans', payload: { ...validPlan, name: 'fuzzed' } });
  assert.equal(created.statusCode, 201, created.body);
  planId = created.json().id;
  const key = parseKey(randomBytes(32).toString('hex'), 'fuzz-key');
  backup = await buildBackupApp({
    conn: stack.conn,
    nc: stack.nc,
    log: silentLogger(),
    registry: createRegistry('backup', { processMetrics: false }),
    clock: Date.now,
    keys: { sealing: key, byId: new Map([[key.id, key]]) },
    access: testApiAccess(rateLimit),
    config: {
      bucket: 'fuzz',
      retentionDays: 1,
      planQuotaBytes: 0,
      uploadTimeoutMs: 60_000,
      restoreCopyTtlMs: 60_000,
      sweepIntervalMs: 3_600_000,
      maxConcurrentVerifications: 2,
    },
  });
  await backup.start();
});

after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await backup?.stop();
  await stack?.stop();
});

const validPlan = {
  name: 'fuzz',
  selector: { pool: 'fuzz' },
  profile: 'debian-11-to-12',
  canary: { count: 1 },
  waves: [{ percent: 50 }],
  limits: { maxInFlight: 1, perCluster: { count: 1 } },
  errorBudget: { plan: { count: 1 } },
  clusterCheck: { minHealthyPercent: 0 },
  startPaused: true,
  dryRun: true,
};

/** Every field of the plan schema, by path (set by the fuzz even where the valid plan has none). */
const PLAN_FIELDS = [
  'name',
  'mode',
  'reassess',
  'selector',
  ...['pool', 'cluster', 'zone', 'rack', 'role', 'hosts', 'hosts[0]'].map((f) => `selector.${f}`),
  'profile',
  'canary',
  'canary.count',
  'canary.percent',
  'promotion',
  'promotion.mode',
  'promotion.soakSeconds',
  'waves',
  'waves[0]',
  'waves[0].percent',
  'waves[0].count',
  'limits',
  ...['maxInFlight', 'perCluster', 'perCluster.count', 'perZone.percent', 'perRack.count'].map((f) => `limits.${f}`),
  'errorBudget',
  'errorBudget.plan',
  'errorBudget.plan.count',
  'errorBudget.wave.percent',
  'windows',
  'windows[0]',
  ...['start', 'end', 'days', 'days[0]', 'from', 'to', 'timezone'].map((f) => `windows[0].${f}`),
  'windowCutoffMinutes',
  'steps',
  'steps.timeoutSeconds',
  'steps.timeoutSeconds.upgrade',
  'steps.retries',
  'steps.retries.cluster-check',
  'clusterCheck',
  'clusterCheck.minHealthyPercent',
  'clusterCheck.probe',
  'clusterCheck.probe.kind',
  'clusterCheck.probe.target',
  'clusterCheck.probe.timeoutMs',
  'onFailure',
  'rollback',
  'dryRun',
  'startPaused',
];

const anyBody = { valid: {}, fields: ['inFlight', 'x', 'x.y'] };

function schedulerRoutes(): RouteCase[] {
  const plan = { planId };
  const host = { planId, hostId: 'fz-01' };
  const page = { limit: '2', cursor: 'AAAA' };
  return [
    { key: 'GET /healthz', query: { x: '1' } },
    { key: 'GET /docs/json', query: { x: '1' } },
    { key: 'GET /metrics', query: { x: '1' } },
    { key: 'GET /v1/whoami', query: { x: '1' } },
    { key: 'GET /v1/plans', query: { state: 'running', ...page } },
    { key: 'POST /v1/plans', headers: { 'idempotency-key': 'fuzz-1' }, body: { valid: validPlan, fields: PLAN_FIELDS } },
    { key: 'GET /v1/plans/:planId', params: plan },
    { key: 'GET /v1/plans/:planId/hosts', params: plan, query: { state: 'pending', phase: '1', ...page } },
    // A plan that does not exist: a live one's stream would not end.
    { key: 'GET /v1/plans/:planId/events', params: { planId: 'p-20260101-000000000001' } },
    ...['pause', 'resume', 'approve', 'retry-failed'].map((a) => ({ key: `POST /v1/plans/:planId/${a}`, params: plan, body: anyBody })),
    {
      key: 'POST /v1/plans/:planId/abort',
      params: { planId: 'p-20260101-000000000001' },
      body: { valid: { inFlight: 'finish' }, fields: ['inFlight'] },
    },
    ...['exclude', 'rollback', 'retry'].map((a) => ({ key: `POST /v1/plans/:planId/hosts/:hostId/${a}`, params: host, body: anyBody })),
    { key: 'GET /v1/hosts', query: { pool: 'fuzz', cluster: 'c00', zone: 'z0', rack: 'r0', role: 'app', ...page } },
    { key: 'GET /v1/hosts/:hostId', params: { hostId: 'fz-00' } },
    {
      key: 'GET /v1/hosts/:hostId/logs',
      params: { hostId: 'fz-00' },
      query: { runId: 'r-1', step: 'upgrade', limit: '5', tail: '5', cursor: '1' },
    },
    { key: 'GET /v1/inventory/summary', query: { x: '1' } },
    { key: 'GET /v1/audit', query: { planId, ...page } },
    { key: 'GET /v1/plans/:planId/assessment', params: plan, query: REPORT_QUERY },
    { key: 'GET /v1/assessment', query: { pool: 'fuzz', cluster: 'c00', zone: 'z0', rack: 'r0', role: 'app', ...REPORT_QUERY } },
    { key: 'GET /v1/plans/:planId/assessment/hosts', params: plan, query: { group: 'inhibitor:held-packages', ...page } },
    {
      key: 'GET /v1/assessment/hosts',
      query: { pool: 'fuzz', cluster: 'c00', zone: 'z0', rack: 'r0', role: 'app', group: 'notAssessed:never', ...page },
    },
    {
      key: 'POST /v1/hosts/:hostId/operations',
      params: { hostId: 'fz-02' },
      headers: { 'idempotency-key': 'fuzz-op-1' },
      body: {
        valid: { capability: 'assess', profile: 'debian-11-to-12', dryRun: true },
        fields: ['capability', 'profile', 'backupId', 'callbackUrl', 'dryRun', 'rollback'],
      },
    },
    { key: 'GET /v1/operations', query: { hostId: 'fz-02', ...page } },
    { key: 'GET /v1/operations/:operationId', params: { operationId: 'op-20260101abcdef012345' } },
  ];
}

/** Every query field of the pool report routes. */
const REPORT_QUERY = { format: 'json', view: 'overview', slots: '4', throughputMiBps: '20', secondsPerPackage: '0.4', fixedSeconds: '180' };

const backupRoutes = (): RouteCase[] => {
  const id = { id: 'b-20260101-000000000001' };
  return [
    { key: 'GET /healthz', query: { x: '1' } },
    { key: 'GET /metrics', query: { x: '1' } },
    { key: 'GET /v1/backups', query: { hostId: 'fz-00', planId, state: 'verified', limit: '2', cursor: 'AAAA' } },
    { key: 'GET /v1/backups/:id', params: id },
    { key: 'POST /v1/backups/:id/verify', params: id, body: anyBody },
    { key: 'DELETE /v1/backups/:id', params: id, body: anyBody },
  ];
};

/** Runs the fuzz against one API; returns how often each route and each parameter was hit. */
async function fuzz(app: FastifyInstance, routes: RouteCase[], numRuns: number) {
  assert.deepEqual(routes.map((r) => r.key).sort(), [...app.guardedRoutes.keys()].sort(), 'the fuzz covers every route of the table');
  const perRoute = new Map<string, number>();
  const perParameter = new Map<string, number>();
  const statuses = new Map<number, number>();
  // POST /v1/plans has the most to get wrong; it gets a larger share.
  const arb = fc.oneof(...routes.map((r) => ({ weight: r.body && r.body.fields.length > 10 ? 8 : 1, arbitrary: malformedRequest(r) })));
  await fc.assert(
    fc.asyncProperty(arb, async (r: FuzzRequest) => {
      const res = await app.inject({
        method: r.method as 'GET',
        url: r.url,
        headers: r.headers,
        ...(r.payload === undefined ? {} : { payload: r.payload }),
      });
      perRoute.set(r.key, (perRoute.get(r.key) ?? 0) + 1);
      for (const t of new Set(r.touched)) perParameter.set(`${r.key} ${t}`, (perParameter.get(`${r.key} ${t}`) ?? 0) + 1);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assert.ok(
        res.statusCode < 500,
        `${r.method} ${r.url.slice(0, 300)} (${r.touched.join(', ')}): ${res.statusCode} ${res.body.slice(0, 500)}`,
      );
      if (res.statusCode >= 400)
        assert.equal(typeof res.json().error?.code, 'string', `${res.statusCode} without the error shape: ${res.body.slice(0, 200)}`);
    }),
    { seed: SEED, numRuns, endOnFailure: false },
  );
  return { perRoute, perParameter, statuses };
}

function assertReachedEverything(routes: RouteCase[], counts: Awaited<ReturnType<typeof fuzz>>): void {
  for (const r of routes) {
    assert.ok((counts.perRoute.get(r.key) ?? 0) >= 50, `${r.key}: ${counts.perRoute.get(r.key) ?? 0} requests`);
    const parameters = [
      ...Object.keys(r.params ?? {}).map((p) => `path.${p}`),
      ...Object.keys(r.query ?? {}).map((q) => `query.${q}`),
      ...Object.keys(r.headers ?? {}).map((h) => `header.${h}`),
      ...(r.body ? ['body', 'header.content-type', ...r.body.fields.map((f) => `body.${f}`)] : []),
      'auth',
    ];
    for (const p of parameters) assert.ok((counts.perParameter.get(`${r.key} ${p}`) ?? 0) > 0, `${r.key}: ${p} never made wrong`);
  }
}

test(`${RUNS.scheduler} malformed requests to the scheduler API: no 5xx, every route and parameter reached`, async () => {
  const routes = schedulerRoutes();
  const counts = await fuzz(stack.scheduler.api, routes, RUNS.scheduler);
  assertReachedEverything(routes, counts);
  process.stderr.write(`scheduler API statuses (seed ${SEED}): ${JSON.stringify(Object.fromEntries([...counts.statuses].sort()))}\n`);
  assert.equal((await stack.inject({ method: 'GET', url: `/v1/plans/${planId}` })).statusCode, 200, 'still serving');
});

test(`${RUNS.backup} malformed requests to the backup API: no 5xx, every route and parameter reached`, async () => {
  const routes = backupRoutes();
  const counts = await fuzz(backup.api, routes, RUNS.backup);
  assertReachedEverything(routes, counts);
  process.stderr.write(`backup API statuses (seed ${SEED}): ${JSON.stringify(Object.fromEntries([...counts.statuses].sort()))}\n`);
});

test('no prototype was polluted and no promise was left to fail unheard', () => {
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys);
  assert.deepEqual(unhandled, []);
});
