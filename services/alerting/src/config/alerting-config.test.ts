import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '@yixing/common';
import { checkAlertingConfig, loadAlertingConfig } from './alerting-config.ts';

const good = {
  route: {
    receiver: 'ops',
    group_by: ['plan', 'wave', 'alertname'],
    group_wait: '10s',
    routes: [{ matchers: ['severity="critical"'], receiver: 'pager' }],
  },
  receivers: [
    {
      name: 'ops',
      webhook_configs: [{ url: 'http://127.0.0.1:9/hook' }],
      dingtalk_configs: [{ url: 'http://127.0.0.1:9/robot/send?access_token=x', secret: 'SEC' }],
    },
    { name: 'pager', pagerduty_configs: [{ routing_key: 'R'.repeat(32), url: 'http://127.0.0.1:9/v2/enqueue' }] },
  ],
  inhibit_rules: [{ source_matchers: ['alertname="ErrorBudgetExhausted"'], target_matchers: ['alertname="StepFailed"'], equal: ['plan'] }],
  rules: {
    StepFailed: { severity: 'critical', labels: { team: 'os' } },
    HostStuck: { enabled: false },
    scheduler_absent_for: '2m',
    log_tail_lines: 30,
  },
};

describe('checkAlertingConfig', () => {
  it('builds the routing tree, each receiver’s integrations and the rules', () => {
    const { config, problems } = checkAlertingConfig(good);
    assert.deepEqual(problems, []);
    assert.ok(config);
    assert.equal(config.routing.route.timers.groupWaitMs, 10_000);
    assert.deepEqual(
      config.receivers.map((r) => [r.name, r.integrations.map((i) => i.kind)]),
      [
        ['ops', ['webhook', 'dingtalk']],
        ['pager', ['pagerduty']],
      ],
    );
    assert.equal(config.rules.rules.StepFailed.severity, 'critical');
    assert.deepEqual(config.rules.rules.StepFailed.labels, { team: 'os' });
    assert.equal(config.rules.rules.HostStuck.enabled, false);
    assert.equal(config.rules.schedulerAbsentMs, 120_000);
    assert.equal(config.logTailLines, 30);
  });

  it('names every problem at once, each with its path', () => {
    const { config, problems } = checkAlertingConfig({
      ...good,
      route: { receiver: 'nobody', group_wait: '5x' },
      receivers: [{ name: 'ops', webhook_configs: [{ url: 'ftp://x' }] }],
      rules: { StepFailed: { severity: 'loud' }, NoSuchRule: {}, events_backlog_max: -1 },
      extra: 1,
    });
    assert.equal(config, undefined);
    const text = problems.join('\n');
    for (const where of [
      'extra:',
      'receivers[0].webhook_configs[0].url',
      'route.receiver',
      'route.group_wait',
      'rules.StepFailed.severity',
      'rules.NoSuchRule',
      'rules.events_backlog_max',
    ])
      assert.ok(text.includes(where), `${where} is named in:\n${text}`);
  });
});

describe('loadAlertingConfig', () => {
  it('without a file nobody is notified, and the alerts are still kept', async () => {
    const config = await loadAlertingConfig('');
    assert.equal(config.routing.route.receiver, 'none');
    assert.deepEqual(config.receivers, [{ name: 'none', integrations: [] }]);
  });

  it('a file that is not YAML, or does not check, is a ConfigError naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yx-alerting-config-'));
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'route: [unclosed');
    await assert.rejects(loadAlertingConfig(bad), (err: unknown) => err instanceof ConfigError && err.message.includes(bad));
    const wrong = join(dir, 'wrong.yaml');
    await writeFile(wrong, 'route: {receiver: x}\nreceivers: []\n');
    await assert.rejects(loadAlertingConfig(wrong), (err: unknown) => err instanceof ConfigError && err.message.includes('route.receiver'));
    await assert.rejects(
      loadAlertingConfig(join(dir, 'missing.yaml')),
      (err: unknown) => err instanceof ConfigError && err.message.includes('ENOENT'),
    );
  });
});
