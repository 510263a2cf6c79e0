// From a real migration to the on-call's notification: the scheduler runs a plan on a
// simulated fleet whose upgrades fail, publishes what it stored, and the alerting service
// tells the webhook once per group, each host with its failure code, the failed step's
// last log lines and its link in the console; the exhausted error budget is its own alert.
// Every service on its own bus credential.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CaptureServer, startCaptureServer } from '@yixing/alerting/internal';
import { type AlertingProcess, startAlerting } from '../fixtures/alerting.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const HOSTS = 8;
const durations = {
  'cluster-check': [10, 20],
  precheck: [20, 40],
  backup: [20, 40],
  upgrade: [50, 100],
  reboot: [20, 40],
  postcheck: [20, 40],
  rollback: [50, 100],
};

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let alerting: AlertingProcess;
let webhook: CaptureServer;

before(async () => {
  stack = await startStack('alerting-e2e');
  scheduler = await startScheduler(stack);
  fleet = await startFleet(stack, {
    size: HOSTS,
    clusters: 2,
    pool: 'doomed',
    prefix: 'dmd',
    sim: { seed: 'doomed', durations, failures: [{ step: 'upgrade', rate: 1 }], tickMs: 20 },
  });
  webhook = await startCaptureServer({ status: 200, body: '' });
  alerting = await startAlerting(stack, {
    route: { receiver: 'oncall', group_by: ['plan', 'alertname'], group_wait: '2s', group_interval: '2s', repeat_interval: '1h' },
    receivers: [{ name: 'oncall', webhook_configs: [{ url: `${webhook.base}/hook` }] }],
  });
  await waitForHosts(scheduler.api, HOSTS);
});

after(async () => {
  await alerting?.proc.kill('SIGTERM');
  await fleet?.kill();
  await scheduler?.proc.kill();
  await webhook?.close();
  await stack?.stop();
});

interface Body {
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string>; generatorURL: string }[];
}

test('failed upgrades on a real plan reach on-call as grouped alerts with their log, and the exhausted budget as its own', async () => {
  const plan = await api<{ id: string }>(scheduler.api, 'POST', '/v1/plans', {
    name: 'doomed',
    selector: { pool: 'doomed' },
    profile: 'centos-7-to-openeuler-22.03',
    limits: { maxInFlight: 2 },
    errorBudget: { plan: { count: 2 } },
    onFailure: 'rollback',
  });
  const bodies = (): (Body & { status: string })[] =>
    webhook.requests.map((r) => JSON.parse(r.body) as Body & { status: string }).filter((b) => b.groupLabels.plan === plan.id);
  const notified = async (what: string, names: string[]): Promise<void> => {
    await waitUntil(
      async () => {
        const seen = new Set(bodies().map((b) => `${b.groupLabels.alertname}:${b.status}`));
        return { done: names.every((n) => seen.has(n)), value: null, state: [...seen].join(',') };
      },
      { what },
    );
  };
  // The canary's host fails: the plan waits for an approval, and that is an alert of its own.
  await notified('the canary failure', ['StepFailed:firing', 'CanaryFailed:firing']);
  await api(scheduler.api, 'POST', `/v1/plans/${plan.id}/approve`);
  // Approved, it goes on failing until its budget is spent; the canary alert resolves.
  await notified('the exhausted budget', ['ErrorBudgetExhausted:firing', 'CanaryFailed:resolved']);
  const failed = bodies().find((b) => b.groupLabels.alertname === 'StepFailed') as Body;
  assert.ok(failed.alerts.length >= 1);
  for (const a of failed.alerts) {
    assert.equal(a.labels.step, 'upgrade');
    assert.equal(a.labels.plan, plan.id);
    assert.match(a.labels.host ?? '', /^dmd/);
    assert.match(a.labels.failure_code ?? '', /\S/, 'the failure code the agent reported');
    assert.match(a.annotations.log_tail ?? '', /injected failure in upgrade/, 'the failed step’s last log lines');
    assert.equal(a.generatorURL, `http://console.test/plans/${plan.id}/hosts/${a.labels.host}/steps/upgrade`);
  }
  const budget = bodies().find((b) => b.groupLabels.alertname === 'ErrorBudgetExhausted') as Body;
  assert.equal(budget.alerts[0]?.labels.severity, 'critical');
});
