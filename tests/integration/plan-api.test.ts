// The API at its edge, in process (fastify inject): bad plans get a 4xx naming the field
// and the reason and change nothing; malformed bus messages are counted and dropped while
// the scheduler keeps working. Also the yx CLI against the same API.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Consumer, type ConsumerInfo, type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { run as yx } from '@yixing/cli';
import { encode, readRunLog, readRunLogTail } from '@yixing/common';
import type { HostRunDoc, Scheduler } from '@yixing/scheduler';
import { pendingRun } from '@yixing/scheduler/internal';
import { testIdentity } from '../fixtures/api-access.ts';
import { cliIo, runYx, textOf } from '../fixtures/cli-io.ts';
import { assertDashboardsServed } from '../fixtures/dashboards.ts';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: InProcessStack;
let scheduler: Scheduler;
let apiUrl: string;

const valid = {
  name: 'api test',
  selector: { pool: 'api' },
  profile: 'debian-11-to-12',
  canary: { count: 1 },
  waves: [{ percent: 50 }],
  limits: { maxInFlight: 4, perCluster: { count: 1 } },
  errorBudget: { plan: { count: 2 } },
  // Clusters of 2 hosts: 40 % keeps 1 healthy peer while the other migrates.
  clusterCheck: { minHealthyPercent: 40 },
};

before(async () => {
  stack = await startInProcess('plan_api');
  scheduler = stack.scheduler;
  apiUrl = stack.apiUrl;
  await stack.addFleet({ pool: 'api', prefix: 'api', size: 8, clusters: 4 });
});

after(async () => {
  await stack?.stop();
});

async function snapshot(): Promise<string> {
  const { Plan, RunState, Host, Audit } = scheduler.models;
  const [plans, runs, locked, audit] = await Promise.all([
    Plan.countDocuments(),
    RunState.countDocuments(),
    Host.countDocuments(),
    Audit.countDocuments(),
  ]);
  return JSON.stringify({ plans, runs, locked, audit, live: scheduler.engine.plans.size });
}

async function expectRejected(
  payload: string | object,
  status: number,
  field: string | undefined,
  reason: RegExp,
  headers: Record<string, string> = {},
): Promise<void> {
  const before = await snapshot();
  const res = await stack.inject({
    method: 'POST',
    url: '/v1/plans',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  assert.equal(res.statusCode, status, res.body);
  const body = res.json() as { error: { code: string; message: string; field?: string } };
  if (field) assert.equal(body.error.field, field, body.error.message);
  assert.match(body.error.message, reason);
  assert.equal(await snapshot(), before, 'a rejected plan changed something');
}

test('unknown fields are refused, at the top and nested', async () => {
  await expectRejected({ ...valid, colour: 'blue' }, 400, 'body.colour', /is not a known field/);
  await expectRejected(
    { ...valid, limits: { maxInFlight: 2, perClustre: { count: 1 } } },
    400,
    'body.limits.perClustre',
    /is not a known field/,
  );
  await expectRejected({ ...valid, canary: { count: 1, percent: 5 } }, 400, 'body.canary', /at most 1 entry/);
});

test('an empty selector, or one that matches nothing, is refused', async () => {
  await expectRejected({ ...valid, selector: {} }, 400, 'body.selector', /must not be empty/);
  await expectRejected({ ...valid, selector: { pool: 'nowhere' } }, 400, 'body.selector', /matches no registered host/);
  await expectRejected({ ...valid, selector: { pool: 'api', colour: 'x' } }, 400, 'body.selector.colour', /is not a known field/);
});

test('impossible limits and budgets are refused', async () => {
  await expectRejected({ ...valid, limits: { maxInFlight: 0 } }, 400, 'body.limits.maxInFlight', />= 1/);
  await expectRejected(
    { ...valid, limits: { maxInFlight: 4, perCluster: { percent: 10 } } },
    400,
    'body.limits.perCluster',
    /resolves to 0 hosts in cluster c0\d of 2 hosts/,
  );
  await expectRejected(
    { ...valid, errorBudget: { plan: { percent: 5 } } },
    400,
    'body.errorBudget.plan',
    /resolves to 0 failures of 8 hosts/,
  );
  await expectRejected(
    { ...valid, canary: { count: 2 }, waves: [{ count: 6 }, { count: 3 }] },
    400,
    'body.waves[1]',
    /no hosts left for wave 2/,
  );
  await expectRejected({ ...valid, promotion: { mode: 'auto' } }, 400, 'body.promotion.soakSeconds', /is required with mode auto/);
  await expectRejected(
    { ...valid, clusterCheck: { minHealthyPercent: 50 } },
    400,
    'body.clusterCheck.minHealthyPercent',
    /cluster c0\d has 2 hosts: taking one leaves 1 healthy, below the 2 that 50 % requires/,
  );
});

test('windows in the past or inside out are refused', async () => {
  const hour = 3600_000;
  const iso = (ms: number): string => new Date(ms).toISOString();
  await expectRejected(
    { ...valid, windows: [{ start: iso(Date.now() - 3 * hour), end: iso(Date.now() - hour) }] },
    400,
    'body.windows[0].end',
    /is in the past/,
  );
  await expectRejected(
    { ...valid, windows: [{ start: iso(Date.now() + 2 * hour), end: iso(Date.now() + hour) }] },
    400,
    'body.windows[0].end',
    /is not after start/,
  );
  await expectRejected({ ...valid, windows: [{ days: ['mon'], from: '25:00', to: '03:00' }] }, 400, undefined, /windows\[0\]/);
  await expectRejected(
    { ...valid, windows: [{ days: ['mon'], from: '01:00', to: '03:00', timezone: 'Mars/Olympus' }] },
    400,
    'body.windows[0].timezone',
    /not an IANA time zone/,
  );
});

test('a cluster probe the scheduler is not configured with is refused, naming it', async () => {
  await expectRejected(
    { ...valid, clusterCheck: { minHealthyPercent: 40, probe: { kind: 'http', target: 'http://169.254.169.254/latest/meta-data/' } } },
    400,
    'body.clusterCheck.probe.target',
    /"http:\/\/169\.254\.169\.254\/latest\/meta-data\/" is not a configured http probe target/,
  );
});

test('the API knows its caller: no token is 401, a viewer can read but not create or pause (403), and nothing changes', async () => {
  const before = await snapshot();
  const anonymous = await scheduler.api.inject({ method: 'POST', url: '/v1/plans', payload: valid });
  assert.equal(anonymous.statusCode, 401, anonymous.body);
  assert.equal(anonymous.json().error.code, 'UNAUTHENTICATED');
  const viewer = await stack.inject({ method: 'POST', url: '/v1/plans', payload: valid }, 'viewer');
  assert.equal(viewer.statusCode, 403, viewer.body);
  assert.equal(viewer.json().error.code, 'FORBIDDEN');
  assert.equal((await stack.inject({ method: 'GET', url: '/v1/plans' }, 'viewer')).statusCode, 200);
  assert.equal(await snapshot(), before, 'a refused creation changed something');
  // A plan that exists, paused by a viewer: refused before the engine hears of it.
  const plan = await stack.inject({ method: 'POST', url: '/v1/plans', payload: { ...valid, startPaused: true } }, 'operator');
  assert.equal(plan.statusCode, 201, plan.body);
  const { id } = plan.json() as { id: string };
  const afterCreate = await snapshot();
  for (const action of ['resume', 'abort']) {
    const res = await stack.inject({ method: 'POST', url: `/v1/plans/${id}/${action}`, payload: {} }, 'viewer');
    assert.equal(res.statusCode, 403, res.body);
    assert.match(
      res.json().error.message,
      new RegExp(`^${testIdentity('viewer')} is a viewer; POST /v1/plans/:planId/${action} needs operator$`),
    );
  }
  assert.equal(await snapshot(), afterCreate, 'a refused action changed something');
  const aborted = await stack.inject({ method: 'POST', url: `/v1/plans/${id}/abort`, payload: {} }, 'operator');
  assert.equal(aborted.statusCode, 200, aborted.body);
  await waitUntil(
    async () => {
      const p = (await stack.inject({ method: 'GET', url: `/v1/plans/${id}` }, 'viewer')).json() as { state: string };
      return { done: p.state === 'aborted', value: p, state: p.state };
    },
    { what: 'the paused plan to be aborted' },
  );
  const audit = (await stack.inject({ method: 'GET', url: `/v1/audit?planId=${id}` }, 'viewer')).json() as {
    entries: { actor: string; action: string }[];
  };
  assert.deepEqual(audit.entries.map((e) => `${e.action} ${e.actor}`).sort(), [
    `plan.abort ${testIdentity('operator')}`,
    `plan.create ${testIdentity('operator')}`,
  ]);
  // Gone again, for the tests that count plans.
  await scheduler.runs.deletePlan(id);
  await scheduler.models.Plan.deleteOne({ _id: id });
});

test('an oversized body, broken JSON and the wrong media type are refused', async () => {
  await expectRejected({ ...valid, name: 'x'.repeat(300 * 1024) }, 413, undefined, /larger than the 262144 bytes allowed/);
  await expectRejected('{"name": "x", ', 400, undefined, /not valid JSON/);
  await expectRejected('name=x', 415, undefined, /application\/json/, { 'content-type': 'application/x-www-form-urlencoded' });
});

test('a valid plan is created, runs and completes; the API serves OpenAPI', async () => {
  // An operator creates it, and a header claiming another actor is not believed.
  const res = await stack.inject({ method: 'POST', url: '/v1/plans', payload: valid, headers: { 'x-yx-actor': 'alice' } }, 'operator');
  assert.equal(res.statusCode, 201, res.body);
  const plan = res.json() as { id: string; phases: { size: number }[] };
  assert.deepEqual(
    plan.phases.map((p) => p.size),
    [1, 7],
    'canary 1, then half of 8, and the 3 left over join the last wave',
  );
  // The same hosts cannot be in two live plans.
  const clash = await stack.inject({ method: 'POST', url: '/v1/plans', payload: valid });
  assert.equal(clash.statusCode, 409);
  assert.match(clash.json().error.message, /8 selected hosts are in another live plan/);

  // Follow it the way an operator does: `yx plan show --watch` reads the server-sent
  // events and prints a progress line per change until the plan ends.
  const watch = cliIo(apiUrl);
  const watching = yx(['plan', 'show', plan.id, '--watch'], watch);
  await waitUntil(
    async () => {
      const p = (await stack.inject({ method: 'GET', url: `/v1/plans/${plan.id}` })).json() as {
        state: string;
        percentDone: number;
      };
      if (p.state === 'waiting-approval') await stack.inject({ method: 'POST', url: `/v1/plans/${plan.id}/approve`, payload: {} });
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
    },
    { what: 'the plan to complete' },
  );
  assert.equal(await watching, 0);
  const lines = textOf(watch.stdout).trim().split('\n');
  assert.ok(lines.length >= 3, `progress lines: ${lines.join(' | ')}`);
  assert.match(lines[0] as string, /^running all +\[-+\] +0%/);
  assert.ok(lines.some((l) => l.startsWith('waiting-approval ')));
  assert.match(lines.at(-1) as string, /^completed all +\[#{30}\] +100% +8\/8 +ok 8/);
  const audit = (await stack.inject({ method: 'GET', url: `/v1/audit?planId=${plan.id}` })).json() as {
    entries: { actor: string; action: string }[];
  };
  assert.deepEqual(audit.entries.map((e) => e.action).sort(), ['plan.approve', 'plan.create']);
  assert.equal(audit.entries.find((e) => e.action === 'plan.create')?.actor, testIdentity('operator'));
  assert.equal(audit.entries.find((e) => e.action === 'plan.approve')?.actor, testIdentity('admin'));

  const openapi = (await stack.inject({ method: 'GET', url: '/docs/json' })).json() as {
    openapi: string;
    paths: Record<string, unknown>;
  };
  assert.match(openapi.openapi, /^3\./);
  assert.ok(openapi.paths['/v1/plans'] && openapi.paths['/v1/plans/{planId}/abort']);
});

test('malformed bus messages are counted and dropped without a crash', async () => {
  const garbage = new Uint8Array([0xff, 0xff, 0xff, 0x01]);
  const { nc } = stack;
  nc.publish('yx.v1.hb.api-00', garbage);
  nc.publish('yx.v1.reg.api-00', garbage);
  // A valid registration on another host's subject: an agent cannot speak for another host.
  nc.publish('yx.v1.reg.api-01', encode('agentRegistration', { hostId: 'api-00', driver: 'simulate', facts: { hostname: 'x' } }).data);
  const js = jetstream(nc);
  await js.publish('yx.v1.evt.host.api-00.succeeded', garbage);
  await js.publish('yx.v1.evt.host.api-00.failed', new TextEncoder().encode('{"json": "is not protobuf"}'));

  const count = async (): Promise<number> => {
    const text = (await stack.inject({ method: 'GET', url: '/metrics' })).body;
    return [...text.matchAll(/^yx_bus_invalid_messages_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  await waitUntil(
    async () => {
      const n = await count();
      return { done: n >= 5, value: n, state: String(n) };
    },
    { what: 'five invalid messages counted' },
  );
  const metrics = (await stack.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /yx_bus_invalid_messages_total\{route="heartbeat",code="MESSAGE_UNDECODABLE"/);
  assert.match(metrics, /yx_bus_invalid_messages_total\{route="agentRegistration",code="MESSAGE_INVALID"/);
  assert.match(metrics, /yx_bus_invalid_messages_total\{route="stepEvent",code="MESSAGE_UNDECODABLE"/);
  // Still serving and still consuming.
  const hosts = (await stack.inject({ method: 'GET', url: '/v1/hosts?pool=api' })).json() as { total: number };
  assert.equal(hosts.total, 8);
});

test('the yx CLI lists, shows and fails with one line and a non-zero exit', async () => {
  const list = await runYx(apiUrl, ['plan', 'list', '--json']);
  assert.equal(list.code, 0);
  const plans = JSON.parse(list.stdout) as { id: string; state: string }[];
  assert.equal(plans.length, 1);

  const show = await runYx(apiUrl, ['plan', 'show', plans[0]?.id as string]);
  assert.equal(show.code, 0);
  assert.match(show.stdout, /completed .*\[#{30}\] +100%/);

  const hosts = await runYx(apiUrl, ['hosts', 'list', '--pool', 'api']);
  assert.equal(hosts.code, 0);
  assert.match(hosts.stdout, /8 of 8 hosts/);

  const missing = await runYx(apiUrl, ['plan', 'show', 'p-nope']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'yx: no plan p-nope (HTTP 404 NOT_FOUND)\n');

  const usage = await runYx(apiUrl, ['plan', 'frobnicate', 'x']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown command "plan frobnicate x"/);
});

test('every scheduler metric a Grafana dashboard queries is exported', async () => {
  const exported = (await stack.inject({ method: 'GET', url: '/metrics' })).body;
  // Process, Node.js and database metrics (yx_process_*, yx_nodejs_*, yx_db_*) are every
  // service's, off in-process: tests/e2e/prometheus-scrape.test.ts finds them on the services.
  const ours = (m: string): boolean => !/^yx_(backup_|alert|process_|nodejs_|db_)/.test(m);
  const checked = await assertDashboardsServed(exported, 'scheduler', ours);
  assert.ok(checked > 5);
});

test('the plan list is summaries from stored counts, paged with a cursor, never loading a run', async () => {
  const { Plan, RunArchive, RunState } = scheduler.models;
  const base = Date.UTC(2026, 0, 1);
  const ids = Array.from({ length: 5 }, (_, i) => `p-listed-${i}`);
  const run = (planId: string, n: number, state: string, failed: boolean) => ({
    planId,
    hostId: `h-${n}`,
    runId: `r-${planId}-${n}`,
    order: n,
    phase: 0,
    state,
    failure: failed ? { step: 'upgrade', kind: 'execution', code: 'X', message: 'x', seq: 1, at: new Date(base) } : null,
    version: 3,
  });
  await Plan.insertMany(
    ids.map((id, i) => ({
      _id: id,
      name: id,
      spec: { profile: 'debian-11-to-12', selector: { pool: 'none' } },
      state: 'completed',
      phases: [{ index: 0, name: 'all', size: 3, budget: 1 }],
      openPhase: 0,
      budget: 1,
      hostCount: 3,
      createdAt: new Date(base + i * 1000),
      updatedAt: new Date(base + i * 1000),
      finishedAt: new Date(base + i * 1000 + 500),
      createdBy: 'test',
    })),
  );
  // Four compacted plans; the newest one ended but was not compacted (two versions of a run).
  await RunArchive.insertMany(
    ids.slice(0, 4).flatMap((id) => [
      { _id: `${id}/h-0`, key: `${id}/h-0`, ...run(id, 0, 'succeeded', false) },
      { _id: `${id}/h-1`, key: `${id}/h-1`, ...run(id, 1, 'succeeded', false) },
      { _id: `${id}/h-2`, key: `${id}/h-2`, ...run(id, 2, 'failed', true) },
    ]),
  );
  const last = ids[4] as string;
  await RunState.insertMany([
    { _id: `${last}/h-0#2`, key: `${last}/h-0`, ...run(last, 0, 'active', false), version: 2 },
    { _id: `${last}/h-0#3`, key: `${last}/h-0`, ...run(last, 0, 'succeeded', false) },
    { _id: `${last}/h-1#3`, key: `${last}/h-1`, ...run(last, 1, 'excluded', false) },
    { _id: `${last}/h-2#3`, key: `${last}/h-2`, ...run(last, 2, 'failed', true) },
  ]);
  const loadPlan = scheduler.runs.loadPlan;
  let loads = 0;
  scheduler.runs.loadPlan = (id: string, opts?: { history?: boolean }) => {
    loads++;
    return loadPlan.call(scheduler.runs, id, opts);
  };
  try {
    type Summary = { id: string; counters: { total: number; succeeded: number; failed: number; excluded: number; failures: number } };
    const seen: Summary[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/plans?state=completed&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await stack.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json() as { items: Summary[]; nextCursor: string | null };
      assert.ok(page.items.length <= 2);
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(loads, 0, 'the list loaded runs with their steps');
    const listed = seen.filter((p) => p.id.startsWith('p-listed-'));
    assert.deepEqual(
      listed.map((p) => p.id),
      [...ids].reverse(),
      'newest first, each once',
    );
    assert.equal(seen.length, 6, 'the five and the plan an earlier test ran');
    for (const p of listed.slice(1)) {
      assert.deepEqual(p.counters, { ...p.counters, total: 3, succeeded: 2, failed: 1, excluded: 0, failures: 1 }, p.id);
    }
    assert.deepEqual(listed[0]?.counters, { ...listed[0]?.counters, total: 3, succeeded: 1, failed: 1, excluded: 1, failures: 1 });

    const bad = await stack.inject({ method: 'GET', url: '/v1/plans?cursor=AAAA' });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().error.code, 'INVALID_CURSOR');

    // The CLI follows the cursor, or stops at --limit and names where to go on.
    const page = cliIo(apiUrl);
    assert.equal(await yx(['plans', 'list', '--state', 'completed', '--limit', '2'], page), 0);
    assert.equal(textOf(page.stdout).trim().split('\n').length, 3, 'a header and 2 plans');
    assert.match(textOf(page.stderr), /^\(more: --cursor [A-Za-z0-9_-]+\)\n$/);

    // A finished plan's view counts its runs: their step records (six a host) are not read.
    const { RunStep } = scheduler.models;
    const find = RunStep.find;
    let stepReads = 0;
    RunStep.find = ((...args: Parameters<typeof find>) => {
      stepReads++;
      return find.apply(RunStep, args);
    }) as typeof find;
    try {
      const view = await stack.inject({ method: 'GET', url: `/v1/plans/${ids[1]}` });
      assert.equal(view.statusCode, 200, view.body);
      const counters = view.json().counters;
      assert.deepEqual(counters, { ...counters, total: 3, succeeded: 2, failed: 1, excluded: 0 });
      assert.equal(stepReads, 0, 'the view read step records');
    } finally {
      RunStep.find = find;
    }
  } finally {
    scheduler.runs.loadPlan = loadPlan;
    await Promise.all([
      Plan.deleteMany({ _id: { $in: ids } }),
      RunArchive.deleteMany({ planId: { $in: ids } }),
      RunState.deleteMany({ planId: { $in: ids } }),
    ]);
  }
});

test('a log read costs what it returns, pages by stream sequence, and survives a line with an absurd time', async () => {
  const js = jetstream(stack.nc);
  const subject = 'yx.v1.log.h-logs.r-logs';
  for (let i = 0; i < 100; i++) {
    const atMs = i === 50 ? 1e300 : Date.UTC(2026, 0, 1) + i;
    await js.publish(subject, encode('logLine', { hostId: 'h-logs', runId: 'r-logs', seq: i, atMs, source: 1, text: `line ${i}` }).data);
  }
  // Count what the reader takes from the stream.
  const counting = countingJetStream(js);
  const page = await readRunLog({ js: counting.js }, 'h-logs', 'r-logs', { limit: 10 });
  assert.equal(page.lines.length, 10);
  assert.ok(counting.delivered() <= 10, `a page of 10 read ${counting.delivered()} messages`);

  const texts: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/v1/hosts/h-logs/logs?runId=r-logs&limit=10${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await stack.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { lines: { at: string | null; text: string }[]; nextCursor: string | null };
    for (const l of body.lines) {
      texts.push(l.text);
      if (l.text === 'line 50') assert.equal(l.at, null, 'no time for 1e300');
      else assert.match(l.at ?? '', /^2026-01-01T/);
    }
    cursor = body.nextCursor;
    pages++;
  } while (cursor && pages < 20);
  assert.deepEqual(
    texts,
    Array.from({ length: 100 }, (_, i) => `line ${i}`),
  );
  assert.equal(pages, 10);

  const logs = cliIo(apiUrl);
  assert.equal(await yx(['host', 'logs', 'h-logs', '--run', 'r-logs', '--limit', '25'], logs), 0);
  assert.equal(textOf(logs.stdout).trim().split('\n').length, 25);
});

/** A view of `js` that counts the messages its consumers' fetches deliver. */
function countingJetStream(js: JetStreamClient): { js: JetStreamClient; delivered: () => number } {
  let delivered = 0;
  const counted = (c: Consumer): Consumer => {
    const fetch = c.fetch.bind(c);
    c.fetch = async (opts) => {
      const batch = await fetch(opts);
      const it = batch[Symbol.asyncIterator].bind(batch);
      batch[Symbol.asyncIterator] = () => {
        const inner = it();
        return {
          ...inner,
          next: async () => {
            const r = await inner.next();
            if (!r.done) delivered++;
            return r;
          },
          return: async () => inner.return?.() ?? { done: true, value: undefined },
        } as ReturnType<typeof it>;
      };
      return batch;
    };
    return c;
  };
  const consumers = new Proxy(js.consumers, {
    get(target, prop) {
      if (prop === 'get') return async (...args: Parameters<typeof target.get>) => counted(await target.get(...args));
      if (prop === 'getConsumerFromInfo') return (ci: ConsumerInfo) => counted(target.getConsumerFromInfo(ci));
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const wrapped = new Proxy(js, {
    get(target, prop) {
      if (prop === 'consumers') return consumers;
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { js: wrapped, delivered: () => delivered };
}

type HostsPage = { hosts: { hostId: string; state: string; history: { commandId: string }[] }[]; nextCursor: string | null };

async function allPages(url: string, limit: number): Promise<{ pages: HostsPage[]; hostIds: string[] }> {
  const pages: HostsPage[] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const pageUrl: string = `${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await stack.inject({ method: 'GET', url: pageUrl });
    assert.equal(res.statusCode, 200, res.body);
    const page = res.json() as HostsPage;
    assert.ok(page.hosts.length <= limit, `a page of ${page.hosts.length} for limit ${limit}`);
    pages.push(page);
    cursor = page.nextCursor ?? null;
  } while (cursor && pages.length < 50);
  return { pages, hostIds: pages.flatMap((p) => p.hosts.map((h) => h.hostId)) };
}

/** A completed plan of 7 hosts: a canary of 2 and a wave of 5. */
const completedPlan = (planId: string, at: Date) => ({
  _id: planId,
  name: planId,
  spec: { profile: 'debian-11-to-12', selector: { pool: 'none' } },
  state: 'completed' as const,
  phases: [
    { index: 0, name: 'canary', size: 2, budget: 1 },
    { index: 1, name: 'all', size: 5, budget: 1 },
  ],
  openPhase: 1,
  budget: 1,
  hostCount: 7,
  createdAt: at,
  updatedAt: at,
  finishedAt: at,
  createdBy: 'test',
});

test("a finished plan's hosts page with a cursor, reading only each page's runs and steps", async () => {
  const { Plan, RunArchive, RunState, RunStep } = scheduler.models;
  const planId = 'p-paged-hosts';
  const at = new Date(Date.UTC(2026, 0, 2));
  const run = (n: number, state: string, version: number) => ({
    key: `${planId}/h-${n}`,
    planId,
    hostId: `h-${n}`,
    runId: `r-${n}`,
    order: n,
    phase: n < 2 ? 0 : 1,
    cluster: `c${n % 2}`,
    state,
    version,
  });
  await Plan.create(completedPlan(planId, at));
  // h-0..h-4 archived (inserted out of order); the compaction of h-5 and h-6 failed, so
  // they are in run_states only; h-1's versions were not dropped yet.
  await RunArchive.insertMany([4, 2, 0, 3, 1].map((n) => ({ _id: `${planId}/h-${n}`, ...run(n, n === 3 ? 'failed' : 'succeeded', 5) })));
  await RunState.insertMany([
    { _id: `${planId}/h-1#1`, ...run(1, 'pending', 1) },
    { _id: `${planId}/h-5#1`, ...run(5, 'pending', 1) },
    { _id: `${planId}/h-5#2`, ...run(5, 'succeeded', 2) },
    { _id: `${planId}/h-6#1`, ...run(6, 'excluded', 1) },
  ]);
  await RunStep.insertMany(
    Array.from({ length: 7 }, (_, n) => ({
      _id: `c-paged-${n}`,
      key: `${planId}/h-${n}`,
      planId,
      hostId: `h-${n}`,
      runId: `r-${n}`,
      step: 'assess',
      attempt: 1,
      commandId: `c-paged-${n}`,
      dispatchedAt: at,
      startedAt: at,
      finishedAt: at,
      outcome: 'succeeded',
    })),
  );
  const loadPlan = scheduler.runs.loadPlan;
  let loads = 0;
  scheduler.runs.loadPlan = (id: string, opts?: { history?: boolean }) => {
    loads++;
    return loadPlan.call(scheduler.runs, id, opts);
  };
  const stepReads: unknown[] = [];
  const findSteps = RunStep.find;
  RunStep.find = ((filter: unknown, ...rest: unknown[]) => {
    stepReads.push(filter);
    return (findSteps as (...a: unknown[]) => unknown).call(RunStep, filter, ...rest);
  }) as typeof RunStep.find;
  try {
    const { pages, hostIds } = await allPages(`/v1/plans/${planId}/hosts`, 2);
    assert.deepEqual(
      hostIds,
      Array.from({ length: 7 }, (_, n) => `h-${n}`),
      'take order, each host once',
    );
    assert.equal(pages.length, 4);
    for (const h of pages.flatMap((p) => p.hosts))
      assert.deepEqual(
        h.history.map((s) => s.commandId),
        [`c-paged-${h.hostId.slice(2)}`],
      );
    assert.deepEqual(
      pages.flatMap((p) => p.hosts.map((h) => h.state)),
      ['succeeded', 'succeeded', 'succeeded', 'failed', 'succeeded', 'succeeded', 'excluded'],
    );
    assert.equal(loads, 0, 'a page loaded the whole plan');
    assert.ok(stepReads.length > 0);
    for (const f of stepReads) {
      const keys = (f as { key?: { $in?: string[] } }).key?.$in;
      assert.ok(keys && keys.length <= 2, `step records read for more than a page: ${JSON.stringify(f)}`);
    }
    const ok = await allPages(`/v1/plans/${planId}/hosts?state=succeeded`, 2);
    assert.deepEqual(ok.hostIds, ['h-0', 'h-1', 'h-2', 'h-4', 'h-5']);
    // One phase (archived and not), one phase in one state: what the console drills into.
    const wave = await allPages(`/v1/plans/${planId}/hosts?phase=1`, 2);
    assert.deepEqual(wave.hostIds, ['h-2', 'h-3', 'h-4', 'h-5', 'h-6']);
    const canaryOk = await allPages(`/v1/plans/${planId}/hosts?phase=0&state=succeeded`, 1);
    assert.deepEqual(canaryOk.hostIds, ['h-0', 'h-1']);
    const waveFailed = await allPages(`/v1/plans/${planId}/hosts?phase=1&state=failed`, 2);
    assert.deepEqual(waveFailed.hostIds, ['h-3']);
    assert.deepEqual((await allPages(`/v1/plans/${planId}/hosts?phase=2`, 2)).hostIds, []);
    for (const bad of ['-1', 'one', '1.5', '99999']) {
      const res = await stack.inject({ method: 'GET', url: `/v1/plans/${planId}/hosts?phase=${bad}` });
      assert.equal(res.statusCode, 400, `phase=${bad}: ${res.body}`);
      const body = res.json() as { error: { field?: string; message: string } };
      assert.equal(body.error.field, 'querystring.phase', body.error.message);
    }
    // The plan list counts the runs archived and those left in run_states, each once.
    const listed = (await stack.inject({ method: 'GET', url: '/v1/plans?state=completed&limit=500' })).json() as {
      items: { id: string; counters: Record<string, number> }[];
    };
    const summary = listed.items.find((p) => p.id === planId);
    assert.deepEqual(summary?.counters, { ...summary?.counters, total: 7, succeeded: 5, failed: 1, excluded: 1, pending: 0 });

    // yx plan hosts reads every page, or stops at --limit and names where to go on.
    const all = cliIo(apiUrl);
    assert.equal(await yx(['plan', 'hosts', planId, '--json'], all), 0, textOf(all.stderr));
    assert.deepEqual(
      (JSON.parse(textOf(all.stdout)) as { hostId: string }[]).map((h) => h.hostId),
      hostIds,
    );
    const some = cliIo(apiUrl);
    assert.equal(await yx(['plan', 'hosts', planId, '--limit', '3'], some), 0, textOf(some.stderr));
    assert.equal(textOf(some.stdout).trim().split('\n').length, 4, 'a header and 3 hosts');
    assert.match(textOf(some.stderr), /^\(more: --cursor [A-Za-z0-9_-]+\)\n$/);
  } finally {
    scheduler.runs.loadPlan = loadPlan;
    RunStep.find = findSteps;
    await Promise.all([
      Plan.deleteMany({ _id: planId }),
      RunArchive.deleteMany({ planId }),
      RunState.deleteMany({ planId }),
      RunStep.deleteMany({ planId }),
    ]);
  }
});

test("a compacted plan's hosts page through its run pages, each read by its _id", async () => {
  const { Plan, RunArchive, RunState, RunStep, RunPage, RunPageIndex } = scheduler.models;
  const planId = 'p-run-pages';
  const at = new Date(Date.UTC(2026, 0, 3));
  await Plan.create(completedPlan(planId, at));
  const finals: HostRunDoc[] = [4, 2, 0, 3, 1, 6, 5].map((n) => ({
    ...pendingRun({ planId, hostId: `h-${n}`, order: n, phase: n < 2 ? 0 : 1, cluster: `c${n % 2}`, zone: 'z1', rack: 'r1' }),
    runId: `r-${n}`,
    state: n === 3 ? 'failed' : 'succeeded',
    version: 1,
    history: [
      {
        step: 'precheck',
        attempt: 1,
        commandId: `c-pages-${n}`,
        dispatchedAt: at,
        startedAt: at,
        finishedAt: at,
        outcome: 'succeeded',
        kind: null,
        code: '',
        message: '',
        report: '',
      },
    ],
  }));
  // As the engine leaves a plan: versions 0 and 1 of each run, compacted when it ends.
  await scheduler.runs.insertNew(finals.map((r) => ({ ...r, state: 'pending', version: 0, history: [] })));
  for (const r of finals) await scheduler.runs.commit({ ...r, state: 'pending', version: 0, history: [] }, r);
  await scheduler.runs.compact(planId, finals);
  assert.equal(await RunState.countDocuments({ planId }), 0, 'versions dropped');
  assert.equal(await RunPageIndex.countDocuments({ planId }), 1);

  // Every read the pages make, by model: only run pages and their index, each by _id.
  const reads: string[] = [];
  const restore: (() => void)[] = [];
  for (const [name, model] of Object.entries({ RunArchive, RunState, RunStep, RunPage, RunPageIndex })) {
    for (const method of ['find', 'findOne'] as const) {
      const original = model[method];
      (model as unknown as Record<string, unknown>)[method] = (filter: unknown, ...rest: unknown[]) => {
        reads.push(`${name}.${method} ${JSON.stringify(filter)}`);
        return (original as (...a: unknown[]) => unknown).call(model, filter, ...rest);
      };
      restore.push(() => {
        (model as unknown as Record<string, unknown>)[method] = original;
      });
    }
  }
  try {
    const { pages, hostIds } = await allPages(`/v1/plans/${planId}/hosts`, 3);
    assert.deepEqual(
      hostIds,
      Array.from({ length: 7 }, (_, n) => `h-${n}`),
      'take order, each host once',
    );
    assert.equal(pages.length, 3);
    for (const h of pages.flatMap((p) => p.hosts))
      assert.deepEqual(
        h.history.map((s) => s.commandId),
        [`c-pages-${h.hostId.slice(2)}`],
      );
    assert.deepEqual((await allPages(`/v1/plans/${planId}/hosts?state=failed`, 2)).hostIds, ['h-3']);
    assert.deepEqual((await allPages(`/v1/plans/${planId}/hosts?phase=0&state=succeeded`, 1)).hostIds, ['h-0', 'h-1']);
    assert.deepEqual((await allPages(`/v1/plans/${planId}/hosts?phase=1`, 10)).hostIds, ['h-2', 'h-3', 'h-4', 'h-5', 'h-6']);
    assert.ok(reads.length > 0);
    for (const r of reads) assert.match(r, /^RunPage(Index)?\.findOne \{"_id":"p-run-pages#[^"]+"\}$/);
  } finally {
    for (const undo of restore) undo();
  }
  await scheduler.runs.deletePlan(planId);
  assert.equal(await RunPage.countDocuments({ planId }), 0);
  assert.equal(await RunPageIndex.countDocuments({ planId }), 0);
  await Plan.deleteMany({ _id: planId });
});

test("a live plan's hosts page with a cursor in take order", async () => {
  const res = await stack.inject({ method: 'POST', url: '/v1/plans', payload: { ...valid, startPaused: true } });
  assert.equal(res.statusCode, 201, res.body);
  const planId = (res.json() as { id: string }).id;
  try {
    const rt = scheduler.engine.runtime(planId);
    assert.ok(rt, 'the plan is live');
    const { pages, hostIds } = await allPages(`/v1/plans/${planId}/hosts`, 3);
    assert.equal(pages.length, 3);
    assert.deepEqual(
      hostIds,
      rt.order.map((key) => key.slice(planId.length + 1)),
    );
    // The canary (phase 0) alone, and the first wave alone, from memory.
    const byPhase = (phase: number): string[] =>
      rt.order.filter((key) => rt.run(key).phase === phase).map((key) => key.slice(planId.length + 1));
    assert.deepEqual((await allPages(`/v1/plans/${planId}/hosts?phase=0`, 3)).hostIds, byPhase(0));
    assert.equal(byPhase(0).length, 1);
    assert.deepEqual((await allPages(`/v1/plans/${planId}/hosts?phase=1&state=pending`, 3)).hostIds, byPhase(1));
    assert.equal((await allPages(`/v1/plans/${planId}/hosts?phase=1&state=failed`, 3)).hostIds.length, 0);
    // The plan view counts each phase's runs by state.
    const view = (await stack.inject({ method: 'GET', url: `/v1/plans/${planId}` })).json() as {
      phases: { states: Record<string, number>; size: number }[];
    };
    assert.deepEqual(view.phases[0]?.states, { pending: 1, active: 0, held: 0, succeeded: 0, failed: 0, excluded: 0 });
    assert.equal(view.phases[1]?.states.pending, byPhase(1).length);
  } finally {
    await stack.inject({ method: 'POST', url: `/v1/plans/${planId}/abort`, payload: {} });
  }
});

test('the inventory pages with a cursor', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/v1/hosts?pool=api&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await stack.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, res.body);
    const page = res.json() as { total: number; hosts: { hostId: string }[]; nextCursor: string | null };
    assert.equal(page.total, 8);
    seen.push(...page.hosts.map((h) => h.hostId));
    cursor = page.nextCursor ?? null;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(
    seen,
    Array.from({ length: 8 }, (_, i) => `api-${i}`),
  );
  const hosts = cliIo(apiUrl);
  assert.equal(await yx(['hosts', 'list', '--pool', 'api', '--limit', '3'], hosts), 0);
  assert.match(textOf(hosts.stdout), /\n3 of 8 hosts\n$/);
  assert.match(textOf(hosts.stderr), /^\(more: --cursor [A-Za-z0-9_-]+\)\n$/);
});

test('the audit log pages newest first with a cursor past one page', async () => {
  const { Audit } = scheduler.models;
  const planId = 'p-audited';
  const base = Date.UTC(2026, 0, 3);
  // 7 entries, two of them at the same instant: the cursor tells them apart by id.
  await Audit.insertMany(
    [0, 1, 2, 3, 3, 4, 5].map((s, i) => ({ at: new Date(base + s * 1000), actor: 'test', action: `a${i}`, planId, hostId: null })),
  );
  try {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/audit?planId=${planId}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await stack.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json() as { entries: { action: string }[]; nextCursor: string | null };
      assert.ok(page.entries.length <= 3);
      seen.push(...page.entries.map((e) => e.action));
      cursor = page.nextCursor ?? null;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['a6', 'a5', 'a4', 'a3', 'a2', 'a1', 'a0']);
    const bad = await stack.inject({ method: 'GET', url: '/v1/audit?cursor=AAAA' });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().error.code, 'INVALID_CURSOR');
  } finally {
    await Audit.deleteMany({ planId });
  }
});

test("a log tail reads only the run's last lines", async () => {
  const js = jetstream(stack.nc);
  // The run's lines interleaved with another run's, as on a fleet.
  for (let i = 0; i < 100; i++) {
    await js.publish(
      'yx.v1.log.h-tail.r-tail',
      encode('logLine', { hostId: 'h-tail', runId: 'r-tail', seq: i, atMs: Date.UTC(2026, 0, 1) + i, source: 1, text: `line ${i + 1}` })
        .data,
    );
    for (let j = 0; j < 3; j++) {
      await js.publish(
        'yx.v1.log.h-other.r-other',
        encode('logLine', { hostId: 'h-other', runId: 'r-other', seq: i * 3 + j, atMs: Date.UTC(2026, 0, 1), source: 1, text: 'other' })
          .data,
      );
    }
  }
  const counting = countingJetStream(js);
  const tail = await readRunLogTail({ js: counting.js }, 'h-tail', 'r-tail', 10);
  assert.deepEqual(
    tail.lines.map((l) => l.text),
    Array.from({ length: 10 }, (_, i) => `line ${91 + i}`),
  );
  assert.ok(counting.delivered() <= 10, `a tail of 10 read ${counting.delivered()} messages`);
  assert.equal(tail.nextCursor, null);

  const res = await stack.inject({ method: 'GET', url: '/v1/hosts/h-tail/logs?runId=r-tail&tail=10' });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(
    (res.json() as { lines: { text: string }[] }).lines.map((l) => l.text),
    Array.from({ length: 10 }, (_, i) => `line ${91 + i}`),
  );
  const more = await stack.inject({ method: 'GET', url: '/v1/hosts/h-tail/logs?runId=r-tail&tail=1000' });
  assert.equal((more.json() as { lines: unknown[] }).lines.length, 100, 'a tail longer than the run is the whole run');
  const both = await stack.inject({ method: 'GET', url: '/v1/hosts/h-tail/logs?runId=r-tail&tail=10&cursor=5' });
  assert.equal(both.statusCode, 400, both.body);
  assert.equal(both.json().error.field, 'querystring.tail');

  const logs = cliIo(apiUrl);
  assert.equal(await yx(['host', 'logs', 'h-tail', '--run', 'r-tail', '--tail', '5'], logs), 0);
  const printed = textOf(logs.stdout).trim().split('\n');
  assert.equal(printed.length, 5);
  assert.match(printed.at(-1) as string, / line 100$/);
});
