// Prometheus's alerts routed to the alerting service, as infra/prometheus/prometheus.yaml
// routes them: a real Prometheus (Debian's prometheus) scrapes a running stack (scheduler,
// backup service, two alerting replicas) with the repository's rules and sends what fires
// to both replicas' Alertmanager intake (POST /api/v2/alerts) with a viewer token, as
// Prometheus sends to every Alertmanager. A real condition fires a repository alert: the
// backup service killed, YixingBackupServiceDown. On-call's webhook is told once, however
// many times Prometheus sends it to however many replicas; told once that it resolved when
// the service is back; and, Prometheus itself gone, the alert nobody sends any more
// resolves at its endsAt.
//
// The one change to the rules: YixingBackupServiceDown's `for: 2m` is 1s in the copy this
// test loads, so that it fires in seconds; its expression is the repository's. Prometheus
// evaluates every second and re-sends every second (--rules.alert.resend-delay), so a
// firing alert's endsAt is 4 s ahead.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type CaptureServer, startCaptureServer } from '@yixing/alerting/internal';
import { parse } from 'yaml';
import { freePort } from '../../infra/dev/net.ts';
import { repoRoot } from '../../infra/dev/paths.ts';
import { type AlertingProcess, alertingApi, startAlerting } from '../fixtures/alerting.ts';
import { bearer, testIdentity, testTokens } from '../fixtures/api-access.ts';
import { spawnBackupService } from '../fixtures/backup-service.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { type PrometheusServer, startPrometheus } from '../fixtures/prometheus.ts';
import { type Stack, startScheduler, startStack } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const ALERT = 'YixingBackupServiceDown';

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let backup: { proc: ServiceProcess; api: string } | undefined;
let backupPort: number;
let replicas: AlertingProcess[] = [];
let webhook: CaptureServer;
let prometheus: PrometheusServer | undefined;

const startBackup = async () => await spawnBackupService(stack, { YX_API_PORT: String(backupPort) });

before(async () => {
  stack = await startStack('prometheus-alerts');
  scheduler = await startScheduler(stack);
  backupPort = await freePort();
  backup = await startBackup();
  webhook = await startCaptureServer({ status: 200, body: '' });
  // Only the alert this test drives reaches on-call; the rest (none should fire) go to nobody.
  const config = {
    route: {
      receiver: 'nobody',
      group_by: ['alertname'],
      group_wait: '1s',
      group_interval: '1s',
      repeat_interval: '1h',
      routes: [{ receiver: 'oncall', matchers: [`alertname="${ALERT}"`] }],
    },
    receivers: [{ name: 'nobody' }, { name: 'oncall', webhook_configs: [{ url: `${webhook.base}/hook` }] }],
  };
  // Prometheus pushes with the test's viewer token: that identity is the intake's.
  const intake = { YX_ALERTING_INGEST_IDENTITIES: testIdentity('viewer') };
  replicas = [await startAlerting(stack, config, 'alerting-a', intake), await startAlerting(stack, config, 'alerting-b', intake)];
});

after(async () => {
  await prometheus?.stop();
  for (const r of replicas) await r.proc.kill('SIGTERM');
  await backup?.proc.kill();
  await scheduler?.proc.kill();
  await webhook?.close();
  await stack?.stop();
});

const hostPort = (base: string): string => new URL(base).host;

/** The repository's rules, YixingBackupServiceDown's `for` shortened to 1s, in a file of the test's. */
async function rulesCopy(): Promise<string> {
  const rules = parse(await readFile(path.join(repoRoot, 'infra', 'prometheus', 'rules', 'yixing.yaml'), 'utf8')) as {
    groups: { rules: { alert?: string; for?: string }[] }[];
  };
  const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === ALERT);
  assert.ok(rule, `the repository's rules have ${ALERT}`);
  rule.for = '1s';
  const dir = path.join(stack.dir, 'prometheus-rules');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'yixing.yaml');
  await writeFile(file, JSON.stringify(rules));
  return file;
}

interface WebhookBody {
  status: 'firing' | 'resolved';
  alerts: { status: string; labels: Record<string, string>; generatorURL: string; fingerprint: string }[];
}

const notifications = (): WebhookBody[] => webhook.requests.map((r) => JSON.parse(r.body) as WebhookBody);
const statuses = (): string[] => notifications().map((n) => n.status);

async function notified(n: number, what: string): Promise<void> {
  await waitUntil(async () => ({ done: webhook.requests.length >= n, value: null, state: statuses().join(',') }), { what });
}

/** Pushed alerts each replica has taken so far (yx_alert_events_total{source="pushed",outcome="applied"}). */
async function pushedTaken(): Promise<number[]> {
  return await Promise.all(
    replicas.map(async (r) => {
      const text = await (await fetch(new URL('/metrics', r.api), { headers: bearer('viewer') })).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('yx_alert_events_total{') && l.includes('source="pushed"') && l.includes('outcome="applied"'));
      return line ? Number(line.split(' ').at(-1)) : 0;
    }),
  );
}

interface AlertView {
  fingerprint: string;
  status: string;
  resolvedBy: string | null;
  link: string;
  endsAt: string | null;
}

const storedAlerts = async (replica: AlertingProcess): Promise<AlertView[]> =>
  (await alertingApi<{ items: AlertView[] }>(replica.api, 'GET', `/v1/alerts?alertname=${ALERT}&state=all`, undefined, 'viewer')).items;

interface ShippedConfig {
  alerting: { alertmanagers: { api_version: string; authorization: unknown; dns_sd_configs: unknown }[] };
  scrape_configs: { job_name: string; authorization?: unknown; dns_sd_configs?: unknown }[];
}

test('the shipped prometheus.yaml sends alerts to every alerting replica it scrapes, with the token it scrapes with', async () => {
  const shipped = parse(await readFile(path.join(repoRoot, 'infra', 'prometheus', 'prometheus.yaml'), 'utf8')) as ShippedConfig;
  const scraped = shipped.scrape_configs.find((j) => j.job_name === 'yixing-alerting');
  assert.deepEqual(shipped.alerting.alertmanagers, [
    { api_version: 'v2', authorization: scraped?.authorization, dns_sd_configs: scraped?.dns_sd_configs },
  ]);
});

test('a real Prometheus alert reaches on-call once through two alerting replicas, and resolves, then expires', async (t) => {
  prometheus = await startPrometheus(
    {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [await rulesCopy()],
      scrape_configs: [
        { job_name: 'yixing-scheduler', targets: [hostPort(scheduler.api)] },
        { job_name: 'yixing-backup', targets: [`127.0.0.1:${backupPort}`] },
        { job_name: 'yixing-alerting', targets: replicas.map((r) => hostPort(r.api)) },
      ].map((j) => ({
        job_name: j.job_name,
        authorization: { credentials: testTokens.viewer },
        static_configs: [{ targets: j.targets }],
      })),
    },
    { alertmanagers: { targets: replicas.map((r) => hostPort(r.api)), token: testTokens.viewer }, resendDelay: '1s' },
  );
  await waitUntil(
    async () => {
      const targets = await prometheus?.targets();
      const ams = (await prometheus?.alertmanagers()) ?? [];
      const state = `${targets?.map((x) => `${x.labels.job}:${x.health}`).join(',')}; alertmanagers ${ams.join(',')}`;
      return { done: targets?.length === 4 && targets.every((x) => x.health === 'up') && ams.length === 2, value: null, state };
    },
    { what: 'every target up and both replicas as Alertmanagers' },
  );
  assert.deepEqual(statuses(), [], 'nothing notified while the stack is healthy');

  // The backup service dies: up == 0, the alert fires in Prometheus and reaches on-call once.
  await backup?.proc.kill('SIGKILL');
  backup = undefined;
  await notified(1, `${ALERT} notified`);
  const [first] = notifications();
  assert.equal(first?.status, 'firing');
  assert.equal(first?.alerts.length, 1);
  const pushed = first?.alerts[0];
  assert.equal(pushed?.labels.alertname, ALERT);
  assert.equal(pushed?.labels.job, 'yixing-backup');
  assert.equal(pushed?.labels.severity, 'critical');
  assert.match(pushed?.generatorURL ?? '', /\/graph\?g0\.expr=/, 'the link is the Prometheus expression');

  // Prometheus goes on sending it to both replicas; nobody is told again.
  const taken = await pushedTaken();
  await waitUntil(
    async () => {
      const now = await pushedTaken();
      return { done: now.every((n, i) => n >= (taken[i] ?? 0) + 5), value: null, state: now.join(',') };
    },
    { what: 'five more sends taken by each replica' },
  );
  assert.deepEqual(statuses(), ['firing'], 'one notification for every send to every replica');
  for (const r of replicas) {
    const [a] = await storedAlerts(r);
    assert.equal(a?.status, 'firing', `as ${r.api} shows it`);
    assert.equal(a?.fingerprint, pushed?.fingerprint);
  }

  // It comes back: Prometheus sends the alert resolved, and on-call is told once.
  backup = await startBackup();
  await notified(2, `${ALERT} resolved`);
  const [resolved] = await storedAlerts(replicas[0] as AlertingProcess);
  assert.deepEqual([resolved?.status, resolved?.resolvedBy], ['resolved', testIdentity('viewer')]);
  assert.deepEqual(statuses(), ['firing', 'resolved']);

  // It dies again (a new incident), and then Prometheus itself stops: nobody sends the alert
  // any more, and it resolves at the endsAt of its last send.
  await backup.proc.kill('SIGKILL');
  backup = undefined;
  await notified(3, `${ALERT} firing again`);
  await prometheus.stop();
  const stoppedAt = Date.now();
  await notified(4, `${ALERT} expired`);
  assert.deepEqual(statuses(), ['firing', 'resolved', 'firing', 'resolved']);
  const [expired] = await storedAlerts(replicas[1] as AlertingProcess);
  assert.deepEqual([expired?.status, expired?.resolvedBy], ['resolved', 'expired']);
  const endsAt = Date.parse(expired?.endsAt ?? '');
  assert.ok(endsAt > stoppedAt - 1000 && endsAt <= stoppedAt + 5000, `resolved at its last endsAt: ${expired?.endsAt}`);
  t.diagnostic(`expired ${Math.round(endsAt - stoppedAt)} ms after Prometheus stopped`);
});
