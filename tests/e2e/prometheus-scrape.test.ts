// The metrics, dashboards and rules against a real Prometheus (Debian's prometheus): a
// rehearsal runs (scheduler, backup service, alerting, simulated fleets, every service on
// its own bus credential), Prometheus scrapes each service's /metrics every second with a
// viewer token (docs/security.md) under the job names of infra/prometheus/prometheus.yaml
// and evaluates the rules of infra/prometheus/rules every second. Then, through its HTTP
// API, every PromQL expression of dashboards/*.json ($plan filled with the live plans)
// and every recording rule returns data, every series an alert reads has data (an alert's
// expression itself is empty while it does not fire: its threshold is not what is
// checked here; promtool test rules checks it), and every rule evaluates without error.
//
// The rehearsal: one plan whose upgrades fail on three hosts (rolled back) and whose other
// hosts back up through the backup service, a second plan whose only host hangs in its
// upgrade (so a plan stays running however fast the first one ends), the failures
// notified to a webhook, and a malformed heartbeat and backup request from an agent.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type CaptureServer, startCaptureServer } from '@yixing/alerting/internal';
import { connectBus } from '@yixing/common';
import { freePort } from '../../infra/dev/net.ts';
import { repoRoot } from '../../infra/dev/paths.ts';
import { type AlertingProcess, startAlerting } from '../fixtures/alerting.ts';
import { testTokens } from '../fixtures/api-access.ts';
import { spawnBackupService } from '../fixtures/backup-service.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { type PrometheusServer, startPrometheus } from '../fixtures/prometheus.ts';
import { dashboardQueries, selectorsOf } from '../fixtures/promql.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const HOSTS = 12;
const FAILING = ['prm-02', 'prm-05', 'prm-09'];
const durations = {
  'cluster-check': [20, 40],
  precheck: [50, 100],
  backup: [50, 100],
  upgrade: [200, 400],
  reboot: [50, 100],
  postcheck: [50, 100],
  rollback: [100, 200],
};

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let backup: { proc: ServiceProcess; api: string };
let alerting: AlertingProcess;
let fleet: ServiceProcess;
let held: ServiceProcess;
let webhook: CaptureServer;
let prometheus: PrometheusServer;
let fleetMetricsPort: number;

before(async () => {
  stack = await startStack('prometheus-scrape');
  scheduler = await startScheduler(stack);
  backup = await spawnBackupService(stack);
  webhook = await startCaptureServer({ status: 200, body: '' });
  alerting = await startAlerting(stack, {
    route: { receiver: 'oncall', group_by: ['plan', 'alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
    receivers: [{ name: 'oncall', webhook_configs: [{ url: `${webhook.base}/hook` }] }],
  });
  fleetMetricsPort = await freePort();
  fleet = await startFleet(stack, {
    size: HOSTS,
    clusters: 3,
    pool: 'prom',
    prefix: 'prm',
    backups: 'service',
    env: { YX_METRICS_PORT: String(fleetMetricsPort) },
    sim: { seed: 'prom', durations, failures: [{ step: 'upgrade', hosts: FAILING }], tickMs: 20 },
  });
  held = await startFleet(stack, {
    size: 1,
    clusters: 1,
    pool: 'held',
    prefix: 'held',
    sim: { seed: 'held', durations, failures: [{ step: 'upgrade', mode: 'hang' }], tickMs: 20 },
  });
  await waitForHosts(scheduler.api, HOSTS + 1);
});

after(async () => {
  await prometheus?.stop();
  await alerting?.proc.kill('SIGTERM');
  await held?.kill();
  await fleet?.kill();
  await backup?.proc.kill();
  await scheduler?.proc.kill();
  await webhook?.close();
  await stack?.stop();
});

const hostPort = (base: string): string => new URL(base).host;

/** The scrape jobs of infra/prometheus/prometheus.yaml (its Yixing ones), here on loopback. */
async function scrapeConfigs(): Promise<object[]> {
  const jobs: Record<string, { target: string; token: boolean }> = {
    'yixing-scheduler': { target: hostPort(scheduler.api), token: true },
    'yixing-backup': { target: hostPort(backup.api), token: true },
    'yixing-alerting': { target: hostPort(alerting.api), token: true },
    'yixing-demo-fleet': { target: `127.0.0.1:${fleetMetricsPort}`, token: false },
  };
  const shipped = await readFile(path.join(repoRoot, 'infra', 'prometheus', 'prometheus.yaml'), 'utf8');
  const names = [...shipped.matchAll(/job_name:\s*(yixing-\S+)/g)].map((m) => m[1]);
  assert.deepEqual(names.sort(), Object.keys(jobs).sort(), 'the jobs this test scrapes are the shipped configuration’s');
  return Object.entries(jobs).map(([job, j]) => ({
    job_name: job,
    ...(j.token ? { authorization: { credentials: testTokens.viewer } } : {}),
    static_configs: [{ targets: [j.target] }],
  }));
}

/** Creates a plan as the test admin; an awaiting canary gate is approved by `keepGoing`. */
const createPlan = (body: object): Promise<{ id: string }> => api<{ id: string }>(scheduler.api, 'POST', '/v1/plans', body);

async function keepGoing(planId: string): Promise<void> {
  const plan = await api<{ state: string }>(scheduler.api, 'GET', `/v1/plans/${planId}`);
  // A failing host may be the canary: its failure asks for an approval, which the on-call gives.
  if (plan.state === 'waiting-approval') await api(scheduler.api, 'POST', `/v1/plans/${planId}/approve`);
}

/** Sends what no agent should: bytes that are no message, on subjects the scheduler and the backup service read. */
async function sendMalformed(): Promise<void> {
  const nc = await connectBus(await stack.agentConnect('prm-00'));
  try {
    nc.publish('yx.v1.hb.prm-00', new TextEncoder().encode('not a heartbeat'));
    nc.publish('yx.v1.backup.slot.prm-00', new TextEncoder().encode('not a slot request'));
    await nc.flush();
  } finally {
    await nc.close();
  }
}

test('every dashboard and rule expression has data in a real Prometheus scraping a rehearsal', async (t) => {
  prometheus = await startPrometheus({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [path.join(repoRoot, 'infra', 'prometheus', 'rules', '*.yaml')],
    scrape_configs: await scrapeConfigs(),
  });
  const work = await createPlan({
    name: 'prometheus rehearsal',
    selector: { pool: 'prom' },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 1 },
    promotion: { mode: 'auto', soakSeconds: 1 },
    waves: [{ percent: 50 }],
    limits: { maxInFlight: 3 },
    errorBudget: { plan: { count: 6 }, wave: { count: 6 } },
    onFailure: 'rollback',
  });
  const hold = await createPlan({
    name: 'prometheus rehearsal, held',
    selector: { pool: 'held' },
    profile: 'centos-7-to-openeuler-22.03',
    errorBudget: { plan: { count: 1 } },
    onFailure: 'rollback',
  });
  await sendMalformed();

  // Targets first: a target down (a token refused, a wrong port) says more than an empty query.
  await waitUntil(
    async () => {
      const targets = await prometheus.targets();
      const state = targets.map((t) => `${t.labels.job}:${t.health}${t.lastError ? ` (${t.lastError})` : ''}`).join(', ');
      return { done: targets.length === 4 && targets.every((t) => t.health === 'up'), value: null, state };
    },
    { what: 'every target scraped' },
  );

  const queries = [
    ...(await dashboardQueries({ plan: `${work.id}|${hold.id}` })),
    ...(await prometheus.rules()).flatMap((r) =>
      r.type === 'recording'
        ? [
            { where: `recording rule ${r.name}`, expr: r.name },
            { where: `recording rule ${r.name} (its expression)`, expr: r.query },
          ]
        : selectorsOf(r.query).map((s) => ({ where: `alert ${r.name} reads`, expr: s })),
    ),
  ];
  const started = performance.now();
  const empty = await waitUntil(
    async () => {
      await keepGoing(work.id);
      const missing: string[] = [];
      for (const q of queries) if ((await prometheus.query(q.expr)).length === 0) missing.push(`${q.where}: ${q.expr}`);
      return { done: missing.length === 0, value: missing, state: missing.join('\n') };
    },
    { what: 'data for every dashboard and rule expression', intervalMs: 1000 },
  );
  assert.deepEqual(empty, []);
  assert.ok(queries.length >= 40, `${queries.length} expressions checked`);
  t.diagnostic(`${queries.length} expressions had data ${Math.round((performance.now() - started) / 1000)} s after the plans started`);

  // The rules evaluate cleanly, and what the rehearsal did shows in them.
  const rules = await prometheus.rules();
  assert.deepEqual(
    rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
    [],
  );
  const failed = await prometheus.query('sum(yx_scheduler_step_outcomes_total{step="upgrade",outcome="failed"})');
  assert.ok(Number(failed[0]?.value[1]) >= 1, 'the injected upgrade failures are counted');
  const invalid = (await prometheus.query('sum by (job) (yx_bus_invalid_messages_total)')).map((s) => s.metric.job);
  for (const job of ['yixing-backup', 'yixing-scheduler']) assert.ok(invalid.includes(job), `the malformed message counted by ${job}`);
  const running = await prometheus.query(`yx_plan_running{plan="${hold.id}",state="running"}`);
  assert.equal(running.length, 1, 'the held plan runs');
});
