// The alerting configurations shipped in infra/alerting cannot rot: each is read and checked
// as the service reads it at start (loadAlertingConfig: YAML, then checkAlertingConfig,
// every problem listed), and the example shows what its comments promise: every rule and
// setting, every kind of receiver, the critical route to PagerDuty and both inhibitions.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { type AlertingConfig, loadAlertingConfig } from '@yixing/alerting';
import { repoRoot } from '../../infra/dev/paths.ts';

const EXAMPLE = path.join(repoRoot, 'infra', 'alerting', 'alerting.example.yaml');
const DEV = path.join(repoRoot, 'infra', 'alerting', 'alerting.dev.yaml');
const SETTINGS = ['scheduler_absent_for', 'events_backlog_max', 'events_backlog_for', 'log_tail_lines'];

/** The keys of the example's top-level `rules:` mapping, as written (two-space indent). */
function ruleKeysOf(yaml: string): string[] {
  const start = yaml.search(/^rules:\s*$/m);
  assert.ok(start >= 0, 'the example has a rules: section');
  const rest = yaml.slice(start).split('\n').slice(1);
  const end = rest.findIndex((line) => /^\S/.test(line));
  return (end < 0 ? rest : rest.slice(0, end)).flatMap((line) => /^ {2}([A-Za-z_]\w*):/.exec(line)?.[1] ?? []);
}

const kindsOf = (config: AlertingConfig, receiver: string): string[] =>
  config.receivers.find((r) => r.name === receiver)?.integrations.map((i) => i.kind) ?? [];

test('alerting.example.yaml passes the service’s own check', async () => {
  await assert.doesNotReject(loadAlertingConfig(EXAMPLE));
});

test('the example names every rule the service has, and every rule setting', async () => {
  const config = await loadAlertingConfig(EXAMPLE);
  const written = ruleKeysOf(await readFile(EXAMPLE, 'utf8'));
  const missing = [...Object.keys(config.rules.rules), ...SETTINGS].filter((name) => !written.includes(name));
  assert.deepEqual(missing, [], 'add these to the rules: section of infra/alerting/alerting.example.yaml');
});

test('the example shows every kind of receiver, and pages critical alerts through PagerDuty', async () => {
  const config = await loadAlertingConfig(EXAMPLE);
  const kinds = new Set(config.receivers.flatMap((r) => r.integrations.map((i) => i.kind)));
  assert.deepEqual([...kinds].sort(), ['alertmanager', 'dingtalk', 'email', 'feishu', 'pagerduty', 'webhook', 'wecom']);

  const root = config.routing.route;
  assert.deepEqual(root.groupBy, ['plan', 'wave', 'alertname']);
  const critical = root.routes.find((r) => r.matchers.some((m) => m.name === 'severity' && m.type === '=' && m.value === 'critical'));
  assert.ok(critical, 'a route for severity="critical"');
  assert.deepEqual(kindsOf(config, critical.receiver), ['pagerduty']);
  assert.ok(critical.continue, 'critical alerts also reach the chat groups');
});

test('the example’s inhibitions: an exhausted budget mutes its plan’s host alerts, SchedulerDown mutes EventsBacklog', async () => {
  const { routing } = await loadAlertingConfig(EXAMPLE);
  const rule = (source: string) =>
    routing.inhibitRules.find((r) => r.sourceMatchers.some((m) => m.name === 'alertname' && m.type === '=' && m.value === source));
  const budget = rule('ErrorBudgetExhausted');
  assert.ok(budget, 'an inhibit rule with source alertname="ErrorBudgetExhausted"');
  assert.deepEqual(budget.equal, ['plan']);
  const target = budget.targetMatchers.find((m) => m.name === 'alertname');
  assert.equal(target?.type, '=~');
  // Alertmanager anchors regex matchers at both ends.
  const targets = new RegExp(`^(?:${target?.value})$`);
  for (const name of ['StepFailed', 'HostStuck', 'AgentLost']) assert.ok(targets.test(name), `${name} is inhibited`);
  assert.ok(!targets.test('RollbackFailed'), 'a failed rollback still pages');

  const scheduler = rule('SchedulerDown');
  assert.ok(scheduler, 'an inhibit rule with source alertname="SchedulerDown"');
  assert.deepEqual(
    scheduler.targetMatchers.map((m) => [m.name, m.type, m.value]),
    [['alertname', '=', 'EventsBacklog']],
  );
});

test('alerting.dev.yaml (./dev start) passes the check and calls nobody', async () => {
  const config = await loadAlertingConfig(DEV);
  assert.deepEqual(
    config.receivers.flatMap((r) => r.integrations.map((i) => `${r.name}: ${i.kind}`)),
    [],
  );
  assert.deepEqual(config.routing.route.groupBy, ['plan', 'wave', 'alertname']);
});
