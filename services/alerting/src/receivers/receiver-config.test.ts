import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfigError } from '@yixing/common';
import { AlertmanagerReceiver } from './alertmanager.receiver.ts';
import { type CaptureServer, startCaptureServer } from './capture-server.testing.ts';
import { DingTalkReceiver } from './dingtalk.receiver.ts';
import { FeishuReceiver } from './feishu.receiver.ts';
import { failedStep, notification } from './notification.testing.ts';
import { PagerDutyReceiver } from './pagerduty.receiver.ts';
import type { Receiver } from './receiver.ts';
import { buildReceiver, checkReceivers, type Integration } from './receiver-config.ts';
import { WebhookReceiver } from './webhook.receiver.ts';
import { WeComReceiver } from './wecom.receiver.ts';

test('every problem at once, each naming its path; nothing built', () => {
  const r = checkReceivers([
    { name: 'ops', webhook_configs: [{ url: 'ftp://x', max_alerts: -1, http_headers: { 'Content-Type': 'text/plain', 'X-A': 'a\nb' } }] },
    { name: 'ops', pagerduty_configs: [{ severity: 'fatal', timeout: 'soon' }] },
    {
      name: 'robots',
      dingtalk_configs: [{ url: 'not a url', at_mobiles: ['138', 13800000000], colour: 'red' }],
      wecom_configs: [{ mentioned_mobile_list: 'x' }],
      feishu_configs: [{ url: 'https://open.feishu.cn/open-apis/bot/v2/hook/x', locale: 'fr' }],
      alertmanager_configs: [{ url: 'http://am:9093', resolve_timeout: '5s' }],
    },
    { email_configs: [{}] },
    { name: 'x', slack_configs: [] },
    { name: 'a|b', webhook_configs: [{ url: 'https://user:pw@hooks.example/x' }] },
  ]);
  assert.equal(r.config, undefined);
  assert.deepEqual(r.problems, [
    'receivers[0].webhook_configs[0].url: not an http(s) URL',
    'receivers[0].webhook_configs[0].max_alerts: must be an integer of at least 0',
    'receivers[0].webhook_configs[0].http_headers.Content-Type: set by the receiver itself',
    'receivers[0].webhook_configs[0].http_headers.X-A: must be a one-line string',
    'receivers[1].name: "ops" is used by an earlier receiver',
    'receivers[1].pagerduty_configs[0].routing_key: is required',
    'receivers[1].pagerduty_configs[0].severity: must be one of critical, error, warning, info',
    'receivers[1].pagerduty_configs[0].timeout: must be a duration such as 10s, 5m or 1h30m',
    'receivers[2].alertmanager_configs[0].resolve_timeout: must be at least 30000 ms',
    'receivers[2].dingtalk_configs[0].colour: unknown key (known: url, secret, at_mobiles, at_all, locale, timeout)',
    'receivers[2].dingtalk_configs[0].url: not an http(s) URL',
    'receivers[2].dingtalk_configs[0].at_mobiles[0]: must be a mobile number',
    'receivers[2].dingtalk_configs[0].at_mobiles[1]: must be a mobile number',
    'receivers[2].wecom_configs[0].url: is required',
    'receivers[2].wecom_configs[0].mentioned_mobile_list: must be a list',
    'receivers[2].feishu_configs[0].locale: must be one of zh-CN, en',
    'receivers[3].name: is required (a non-empty string)',
    'receivers[3].email_configs: no email integration is wired into this service',
    'receivers[4].slack_configs: unknown key (known: name, webhook_configs, alertmanager_configs, pagerduty_configs, email_configs, dingtalk_configs, wecom_configs, feishu_configs)',
    'receivers[5].name: must not contain "|" or line breaks',
    'receivers[5].webhook_configs[0].url: must not hold a user or password',
  ]);
  assert.deepEqual(checkReceivers({}).problems, ['receivers: must be a list of receivers']);
});

test('a clean configuration builds one receiver per integration, each with the receiver name and its defaults', () => {
  const r = checkReceivers([
    {
      name: 'oncall',
      pagerduty_configs: [{ routing_key: 'R0UT1NG' }],
      dingtalk_configs: [
        { url: 'https://oapi.dingtalk.com/robot/send?access_token=t', secret: 'SEC1', at_mobiles: ['13800000000'], locale: 'en' },
      ],
      wecom_configs: [{ url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k' }],
      feishu_configs: [{ url: 'https://open.feishu.cn/open-apis/bot/v2/hook/h', timeout: '3s' }],
    },
    { name: 'am', alertmanager_configs: [{ url: 'http://am:9093' }], webhook_configs: [{ url: 'http://hooks/alerts' }] },
    { name: 'blackhole' },
  ]);
  assert.deepEqual(r.problems, []);
  const [oncall, am, blackhole] = r.config!;
  assert.deepEqual(
    oncall!.integrations.map((i) => [i.name, i.kind, i.constructor]),
    [
      ['oncall', 'pagerduty', PagerDutyReceiver],
      ['oncall', 'dingtalk', DingTalkReceiver],
      ['oncall', 'wecom', WeComReceiver],
      ['oncall', 'feishu', FeishuReceiver],
    ],
  );
  assert.deepEqual(
    am!.integrations.map((i) => i.constructor),
    [WebhookReceiver, AlertmanagerReceiver],
  );
  assert.equal(am!.integrations[1]!.refreshMs, 5 * 60_000);
  assert.deepEqual(blackhole!.integrations, []);
});

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer({ status: 202, body: {} });
});
after(() => srv.close());

test('buildReceiver: a ConfigError listing every problem, or a receiver that sends where configured', async () => {
  assert.throws(
    () => buildReceiver('pd', 'pagerduty', { url: 'x' }),
    (e: ConfigError) =>
      e instanceof ConfigError &&
      e.message === 'pd.pagerduty_config.routing_key: is required; pd.pagerduty_config.url: not an http(s) URL' &&
      (e.details.problems as string[]).length === 2,
  );
  assert.throws(() => buildReceiver('m', 'email', {}), /m\.email_config: no email integration is wired in/);
  const pd = buildReceiver('pd', 'pagerduty', { routing_key: 'K', url: `${srv.base}/v2/enqueue`, severity: 'warning' });
  await pd.send(notification([failedStep(1)]), new AbortController().signal);
  const event = JSON.parse(srv.requests.at(-1)!.body);
  assert.deepEqual([srv.requests.at(-1)!.url, event.routing_key, event.payload.severity], ['/v2/enqueue', 'K', 'warning']);
});

test('email comes from the integration the caller passes in', () => {
  const built: string[] = [];
  const email: Integration = {
    check: (raw, path) => (raw === 'ok' ? { config: { to: 'a@b' }, problems: [] } : { problems: [`${path}.to: is required`] }),
    build: (name): Receiver => {
      built.push(name);
      return { name, kind: 'email', send: async () => {} };
    },
  };
  assert.deepEqual(checkReceivers([{ name: 'mail', email_configs: ['bad'] }], { email }).problems, [
    'receivers[0].email_configs[0].to: is required',
  ]);
  const ok = checkReceivers([{ name: 'mail', email_configs: ['ok'] }], { email });
  assert.deepEqual([ok.config![0]!.integrations[0]!.kind, built], ['email', ['mail']]);
  assert.equal(buildReceiver('mail2', 'email', 'ok', { email }).name, 'mail2');
});
