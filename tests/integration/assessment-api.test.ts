// The pool report through the API and the CLI, against the real store: a plan's report
// from its precheck records (the latest attempt per host; an earlier plan's assessment
// for a host the plan reused; runs pending, excluded or failed before their precheck; a
// report that cannot be read), the fleet's from each host's latest precheck, the CSV
// export, and a live migration plan's prechecks. Reading a report changes nothing.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Scheduler } from '@yixing/scheduler';
import { assessmentReport, MiB } from '../fixtures/assessment-reports.ts';
import { runYx } from '../fixtures/cli-io.ts';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: InProcessStack;
let scheduler: Scheduler;
let h: string[];

const EARLIER = 'p-earlier';
const PLAN = 'p-assess';
// 100 MiB to download a host.
const report = assessmentReport;

const at = (minute: number): Date => new Date(Date.UTC(2026, 11, 6, 10, minute));

let seq = 0;
function precheck(
  planId: string,
  hostId: string,
  minute: number,
  outcome: 'succeeded' | 'failed',
  code: string,
  body: string,
  attempt = 1,
) {
  seq += 1;
  return {
    _id: `cmd-${seq}`,
    key: `${planId}/${hostId}`,
    planId,
    hostId,
    runId: `r-${planId}-${hostId}`,
    step: 'precheck',
    attempt,
    commandId: `cmd-${seq}`,
    dispatchedAt: at(minute - 1),
    startedAt: at(minute - 1),
    finishedAt: at(minute),
    outcome,
    kind: outcome === 'failed' && code !== 'PRECHECK_INHIBITED' ? 'timeout' : null,
    code,
    message: code ? `${code} happened` : '',
    report: body,
  };
}

function run(planId: string, hostId: string, state: string, extra: Record<string, unknown> = {}) {
  return {
    _id: `${planId}/${hostId}`,
    key: `${planId}/${hostId}`,
    planId,
    hostId,
    runId: `r-${planId}-${hostId}`,
    previousRunIds: [],
    order: 0,
    phase: 0,
    state,
    failure: null,
    exclusionReason: '',
    version: 3,
    ...extra,
  };
}

const plan = (id: string, minute: number) => ({
  _id: id,
  name: id,
  spec: { limits: { maxInFlight: 3 } },
  state: 'completed',
  stateReason: '',
  phases: [],
  openPhase: 0,
  budget: 1,
  domainLimits: [],
  hostCount: 7,
  createdAt: at(minute),
  updatedAt: at(minute),
  finishedAt: at(minute + 5),
  createdBy: 'test',
  version: 1,
});

before(async () => {
  stack = await startInProcess('assessment_api');
  scheduler = stack.scheduler;
  await stack.addFleet({ pool: 'assess', prefix: 'as', size: 7, clusters: 1 });
  h = scheduler.inventory
    .select({ pool: 'assess' })
    .map((x) => x._id)
    .sort();
  const { Plan, RunArchive, RunState, RunStep } = scheduler.models;
  await Plan.collection.insertMany([plan(EARLIER, 0), plan(PLAN, 20)] as never[]);
  await RunArchive.collection.insertMany([
    run(PLAN, h[0] as string, 'succeeded'),
    run(PLAN, h[1] as string, 'failed', { failure: { step: 'precheck', kind: 'execution', code: 'PRECHECK_INHIBITED', message: 'x' } }),
    run(PLAN, h[2] as string, 'succeeded'),
    // Left out, its facts unchanged: it keeps the earlier plan's assessment.
    run(PLAN, h[3] as string, 'excluded', {
      exclusionReason: `facts unchanged since its assessment in plan ${EARLIER}`,
      reusesAssessmentOf: EARLIER,
    }),
    run(PLAN, h[4] as string, 'succeeded'),
    run(PLAN, h[6] as string, 'excluded', { exclusionReason: 'agent 0.0.9 is older than the plan needs' }),
  ] as never[]);
  // A run whose compaction did not finish: its versions, the latest one counts.
  const key = `${PLAN}/${h[5]}`;
  await RunState.collection.insertMany([
    { ...run(PLAN, h[5] as string, 'active'), _id: `${key}#1`, version: 1 },
    {
      ...run(PLAN, h[5] as string, 'failed', {
        failure: { step: 'cluster-check', kind: 'execution', code: 'CLUSTER_UNHEALTHY', message: 'c00 has 0 healthy' },
      }),
      _id: `${key}#2`,
      version: 2,
    },
  ] as never[]);
  await RunStep.collection.insertMany([
    precheck(EARLIER, h[0] as string, 1, 'failed', 'PRECHECK_INHIBITED', report([{ id: 'held-packages', inhibitor: true }])),
    precheck(EARLIER, h[3] as string, 2, 'succeeded', '', report([], { roles: ['libvirt'], factsDigest: 'sha256:3' })),
    // Later than the assessment, but no assessment: not what a plan reuses.
    precheck(EARLIER, h[3] as string, 3, 'failed', 'STEP_TIMEOUT', ''),
    precheck(PLAN, h[0] as string, 21, 'succeeded', '', report([{ id: 'services-not-assessed', severity: 'info' }], { roles: ['podman'] })),
    precheck(
      PLAN,
      h[1] as string,
      22,
      'failed',
      'PRECHECK_INHIBITED',
      report([
        { id: 'disk-space:/var', inhibitor: true },
        { id: 'held-packages', inhibitor: true },
      ]),
    ),
    precheck(PLAN, h[2] as string, 22, 'failed', 'STEP_TIMEOUT', '', 1),
    precheck(PLAN, h[2] as string, 24, 'succeeded', '', report([{ id: 'obsolete-packages', severity: 'medium' }]), 2),
    precheck(PLAN, h[4] as string, 23, 'succeeded', '', '{"findings": [{"id": "trunc'),
  ] as never[]);
});

after(async () => {
  await stack?.stop();
});

async function stored(): Promise<string> {
  const { Plan, RunState, RunArchive, RunStep, Audit } = scheduler.models;
  const counts = await Promise.all([Plan, RunState, RunArchive, RunStep, Audit].map((m) => (m as typeof Plan).countDocuments()));
  return JSON.stringify(counts);
}

type Report = {
  scope: { kind: string; planId?: string };
  counts: Record<string, number>;
  notAssessed: { reason: string; hosts: string[] }[];
  inhibitors: { kind: string; hosts: string[]; remediation: string }[];
  warnings: { kind: string; hosts: string[] }[];
  roles: { role: string; hostCount: number }[];
  totals: { hosts: number; downloadBytes: number };
  estimate: { model: { slots: number }; makespanSeconds: number; totalHostSeconds: number };
  hosts: { hostId: string; status: string; notAssessed: string | null; reason: string; source: string | null; planId: string }[];
};

test("a plan's report: the latest attempt per host, a reused assessment, hosts not assessed and why", async () => {
  const before = await stored();
  const res = await stack.inject({ method: 'GET', url: `/v1/plans/${PLAN}/assessment` }, 'viewer');
  assert.equal(res.statusCode, 200, res.body);
  const r = res.json() as Report;
  assert.deepEqual(r.scope, { kind: 'plan', planId: PLAN });
  assert.deepEqual(r.counts, { hosts: 7, ready: 2, warnings: 1, inhibited: 1, notAssessed: 3, reused: 1, truncated: 0 });
  const by = Object.fromEntries(r.hosts.map((x) => [x.hostId, x]));
  assert.equal(by[h[0] as string]?.status, 'ready');
  assert.equal(by[h[2] as string]?.status, 'warnings', 'the second attempt is the latest');
  assert.deepEqual([by[h[3] as string]?.status, by[h[3] as string]?.source, by[h[3] as string]?.planId], ['ready', 'reused', EARLIER]);
  assert.deepEqual(
    r.notAssessed.map((n) => [n.reason, n.hosts]),
    [
      ['excluded', [h[6]]],
      ['failed', [h[5]]],
      ['unreadable', [h[4]]],
    ],
  );
  assert.equal(by[h[5] as string]?.reason, 'cluster-check failed: CLUSTER_UNHEALTHY: c00 has 0 healthy');
  assert.equal(by[h[6] as string]?.reason, 'agent 0.0.9 is older than the plan needs');
  assert.deepEqual(
    r.inhibitors.map((k) => [k.kind, k.hosts, k.remediation]),
    [
      ['disk-space', [h[1]], 'fix disk-space:/var'],
      ['held-packages', [h[1]], 'fix held-packages'],
    ],
  );
  assert.deepEqual(
    r.warnings.map((k) => [k.kind, k.hosts]),
    [['obsolete-packages', [h[2]]]],
  );
  assert.deepEqual(r.roles, [
    { role: 'libvirt', hostCount: 1 },
    { role: 'podman', hostCount: 1 },
  ]);
  assert.deepEqual([r.totals.hosts, r.totals.downloadBytes], [3, 300 * MiB]);
  assert.equal(r.estimate.model.slots, 3, "the plan's maxInFlight");
  const oneSlot = await stack.inject({ method: 'GET', url: `/v1/plans/${PLAN}/assessment?slots=1&throughputMiBps=12.5` });
  assert.equal(oneSlot.statusCode, 200, oneSlot.body);
  const one = oneSlot.json() as Report;
  assert.equal(one.estimate.makespanSeconds, one.estimate.totalHostSeconds);
  assert.equal(await stored(), before, 'reading the report changed something');
});

test('the CSV export: one row per host, as an attachment named after the plan', async () => {
  const res = await stack.inject({ method: 'GET', url: `/v1/plans/${PLAN}/assessment?format=csv` });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/csv/);
  assert.equal(res.headers['content-disposition'], `attachment; filename="assessment-${PLAN}.csv"`);
  const lines = res.body.split('\r\n');
  assert.match(lines[0] as string, /^host,status,reason,inhibitors,/);
  assert.equal(lines.length, 9);
  assert.ok(lines.some((l) => l.startsWith(`${h[1]},inhibited,`) && l.includes(',disk-space:/var held-packages,')));
});

test('an unknown plan is a 404; a bad query a 400 naming the field', async () => {
  const missing = await stack.inject({ method: 'GET', url: '/v1/plans/p-nowhere/assessment' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, 'NOT_FOUND');
  const slots = await stack.inject({ method: 'GET', url: `/v1/plans/${PLAN}/assessment?slots=0` });
  assert.equal(slots.statusCode, 400);
  assert.match(slots.json().error.message, /slots/);
  const throughput = await stack.inject({ method: 'GET', url: '/v1/assessment?throughputMiBps=0' });
  assert.equal(throughput.statusCode, 400);
  assert.equal(throughput.json().error.field, 'querystring.throughputMiBps');
  assert.match(throughput.json().error.message, /must be from 0\.001 to 100000, not 0/);
  const format = await stack.inject({ method: 'GET', url: '/v1/assessment?format=xml' });
  assert.equal(format.statusCode, 400);
  assert.match(format.json().error.message, /format/);
});

test("the fleet: each registered host's latest precheck, whatever plan it was in", async () => {
  const res = await stack.inject({ method: 'GET', url: '/v1/assessment?pool=assess' });
  assert.equal(res.statusCode, 200, res.body);
  const r = res.json() as Report;
  assert.deepEqual(r.scope, { kind: 'fleet' });
  assert.deepEqual(r.counts, { hosts: 7, ready: 1, warnings: 1, inhibited: 1, notAssessed: 4, reused: 0, truncated: 0 });
  assert.deepEqual(
    r.notAssessed.map((n) => [n.reason, n.hosts]),
    [
      ['failed', [h[3]]],
      ['unreadable', [h[4]]],
      ['never', [h[5], h[6]]],
    ],
  );
  const overview = (await stack.inject({ method: 'GET', url: '/v1/assessment?pool=assess&view=overview' })).json() as Report;
  assert.equal(overview.hosts, undefined);
  assert.deepEqual(overview.counts, r.counts);
  const other = (await stack.inject({ method: 'GET', url: '/v1/assessment?pool=elsewhere' })).json() as Report;
  assert.equal(other.counts.hosts, 0);
});

test("a group's hosts a page at a time: a plan's inhibitor kind, the fleet's never-assessed hosts", async () => {
  type Page = { group: string; hostCount: number; hosts: string[]; nextCursor: string | null };
  const get = async (url: string): Promise<Page> => {
    const res = await stack.inject({ method: 'GET', url }, 'viewer');
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as Page;
  };
  const held = await get(`/v1/plans/${PLAN}/assessment/hosts?group=inhibitor:held-packages`);
  assert.deepEqual(held, { group: 'inhibitor:held-packages', hostCount: 1, hosts: [h[1]], nextCursor: null });
  const first = await get('/v1/assessment/hosts?pool=assess&group=notAssessed:never&limit=1');
  assert.deepEqual([first.hostCount, first.hosts], [2, [h[5]]]);
  assert.ok(first.nextCursor, 'a cursor to the next page');
  const second = await get(`/v1/assessment/hosts?pool=assess&group=notAssessed:never&limit=1&cursor=${first.nextCursor}`);
  assert.deepEqual([second.hosts, second.nextCursor], [[h[6]], null]);
  // A kind no host has now: an empty group, not an error (it may have been remediated).
  assert.deepEqual((await get('/v1/assessment/hosts?group=warning:nothing-like-it')).hostCount, 0);
  const bad = await stack.inject({ method: 'GET', url: '/v1/assessment/hosts?group=held-packages' });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error.message, /group/);
  const missing = await stack.inject({ method: 'GET', url: '/v1/assessment/hosts' });
  assert.equal(missing.statusCode, 400);
  assert.match(missing.json().error.message, /group/);
  assert.equal((await stack.inject({ method: 'GET', url: '/v1/plans/p-nowhere/assessment/hosts?group=warning:x' })).statusCode, 404);
});

test("a group's pages after the first come from the same report, a fresh first page from a new one", async () => {
  await stack.addFleet({ pool: 'paging', prefix: 'pg', size: 3, clusters: 1 });
  const pg = await waitUntil(
    async () => {
      const ids = scheduler.inventory
        .select({ pool: 'paging' })
        .map((x) => x._id)
        .sort();
      return { done: ids.length === 3, value: ids, state: ids.join(',') };
    },
    { what: 'the paging pool registered' },
  );
  type Page = { hostCount: number; hosts: string[]; nextCursor: string | null };
  const url = '/v1/assessment/hosts?pool=paging&group=notAssessed:never&limit=1';
  const first = (await stack.inject({ method: 'GET', url })).json() as Page;
  assert.deepEqual([first.hostCount, first.hosts], [3, [pg[0]]]);
  // The second host is assessed while the pages are read.
  await scheduler.models.RunStep.collection.insertOne(precheck('p-paging', pg[1] as string, 30, 'succeeded', '', report([])) as never);
  const second = (await stack.inject({ method: 'GET', url: `${url}&cursor=${first.nextCursor}` })).json() as Page;
  assert.deepEqual([second.hostCount, second.hosts], [3, [pg[1]]], 'the same report as the first page');
  const fresh = (await stack.inject({ method: 'GET', url })).json() as Page;
  assert.deepEqual([fresh.hostCount, fresh.hosts], [2, [pg[0]]], 'a first page builds the report afresh');
});

test('yx plan assessment and yx assessment against the API', async () => {
  const text = await runYx(stack.apiUrl, ['plan', 'assessment', PLAN]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^plan ${PLAN}: 7 hosts: 2 ready, 1 with warnings, 1 inhibited, 3 not assessed`));
  assert.match(text.stdout, /^ {2}disk-space {2}1 host {2}high/m);
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-assessment-'));
  const file = path.join(dir, 'pool.csv');
  const csv = await runYx(stack.apiUrl, ['plan', 'assessment', PLAN, '--csv', '--output', file]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal((await readFile(file, 'utf8')).split('\r\n').length, 9);
  const fleet = await runYx(stack.apiUrl, ['assessment', '--pool', 'assess', '--json']);
  assert.equal(fleet.code, 0, fleet.stderr);
  assert.equal(JSON.parse(fleet.stdout).counts.hosts, 7);
});

test("a live migration plan's report comes from its prechecks as they finish", async () => {
  await stack.addFleet({ pool: 'live', prefix: 'lv', size: 2, clusters: 1 });
  const created = await stack.inject({
    method: 'POST',
    url: '/v1/plans',
    payload: {
      name: 'live',
      selector: { pool: 'live' },
      profile: 'debian-11-to-12',
      canary: { count: 1 },
      limits: { maxInFlight: 1 },
      errorBudget: { plan: { count: 1 } },
      clusterCheck: { minHealthyPercent: 0 },
    },
  });
  assert.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  // The canary's precheck is recorded; the other host waits behind the gate.
  const r = await waitUntil(
    async () => {
      const res = await stack.inject({ method: 'GET', url: `/v1/plans/${id}/assessment` });
      const body = res.json() as Report;
      const done = body.hosts.filter((x) => x.planId === id).length === 1;
      return { done, value: body, state: res.body };
    },
    { what: `the canary of ${id} assessed` },
  );
  assert.equal(scheduler.engine.runtime(id) !== undefined, true, 'the plan is live');
  assert.equal(r.counts.hosts, 2);
  const waiting = r.hosts.find((x) => x.planId !== id);
  assert.equal(waiting?.notAssessed, 'pending');
});
