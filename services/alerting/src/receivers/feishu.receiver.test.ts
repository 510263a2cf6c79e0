import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { DeliveryError } from '../errors.ts';
import { type CaptureServer, startCaptureServer } from './capture-server.testing.ts';
import { buildFeishuMessage, FEISHU_BODY_MAX_BYTES, FeishuReceiver, feishuColour, feishuSign } from './feishu.receiver.ts';
import { failedStep, notification, T0 } from './notification.testing.ts';
import { utf8Bytes } from './notification-markdown.ts';

const secret = 'feishu-secret';
const ts = Math.floor(T0 / 1000);

test('the signature keys HMAC-SHA256 with "timestamp\\nsecret" over an empty message (not the other way round)', () => {
  const expected = createHmac('sha256', `${ts}\n${secret}`).digest('base64');
  assert.equal(feishuSign(secret, ts), expected);
  assert.notEqual(feishuSign(secret, ts), createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64'));
});

test('an interactive card: header title and colour, markdown body with the alert and its log; signed in seconds', () => {
  const n = notification([failedStep(1)]);
  const m = buildFeishuMessage(n, 'zh-CN', secret, T0);
  assert.equal(m.timestamp, String(ts));
  assert.equal(m.sign, feishuSign(secret, ts));
  assert.equal(m.msg_type, 'interactive');
  assert.equal(m.card.schema, '2.0');
  assert.deepEqual(m.card.header, { title: { tag: 'plain_text', content: '【告警】StepFailed plan=p1（1 条）' }, template: 'red' });
  const md = m.card.body.elements[0]!;
  assert.equal(md.tag, 'markdown');
  assert.match(md.content, /^\*\*严重 · 升级步骤失败: host-001\*\*\n- 主机: host-001/);
  assert.match(md.content, /日志末尾:\n```\n/);
  assert.match(md.content, /\[在控制台查看该步骤\]\(https:\/\/console\.example\/plans\/p1\/hosts\/host-001\/steps\/upgrade\)/);
  assert.equal(buildFeishuMessage(n, 'en', undefined, T0).sign, undefined);
});

test('colours: red critical, orange warning, blue info while firing; green resolved', () => {
  const sev = (severity: string) => failedStep(1, { labels: { severity } });
  assert.equal(feishuColour(notification([sev('critical'), sev('warning')])), 'red');
  assert.equal(feishuColour(notification([sev('warning')])), 'orange');
  assert.equal(feishuColour(notification([sev('info')])), 'blue');
  assert.equal(feishuColour(notification([failedStep(1, { status: 'resolved', endsAt: T0 })])), 'green');
});

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer({ status: 200, body: { code: 0, msg: 'success', data: {} } });
});
after(() => srv.close());

test('the receiver POSTs the signed card; 9499 and 11232 retryable, 19021 (bad sign) refused; old StatusCode answers read', async () => {
  const r = new FeishuReceiver('fs', { url: `${srv.base}/open-apis/bot/v2/hook/abc`, secret, locale: 'zh-CN', timeoutMs: 5000 }, () => T0);
  const n = notification([failedStep(1)]);
  const signal = new AbortController().signal;
  await r.send(n, signal);
  assert.deepEqual(JSON.parse(srv.requests.at(-1)!.body), buildFeishuMessage(n, 'zh-CN', secret, T0));
  for (const code of [9499, 11232]) {
    srv.answers.push({ status: 200, body: { code, msg: 'too many request' } });
    await assert.rejects(r.send(n, signal), (e: DeliveryError) => e.retryable && e.code === 'RECEIVER_RATE_LIMITED');
  }
  srv.answers.push({ status: 200, body: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' } });
  await assert.rejects(r.send(n, signal), (e: DeliveryError) => !e.retryable && e.code === 'RECEIVER_REFUSED' && /19021/.test(e.message));
  srv.answers.push({ status: 200, body: { StatusCode: 0, StatusMessage: 'success' } });
  await r.send(n, signal);
});

test('the whole request stays within 20000 bytes even when JSON escaping doubles a log full of quotes', () => {
  const quoted = (i: number) =>
    failedStep(i, { annotations: { summary: 's', log_tail: Array.from({ length: 40 }, () => '"\\"\\"\\"\\"\\"').join('\n') } });
  const m = buildFeishuMessage(notification(Array.from({ length: 60 }, (_, i) => quoted(i))), 'zh-CN', secret, T0);
  const size = utf8Bytes(JSON.stringify(m));
  assert.ok(size <= FEISHU_BODY_MAX_BYTES && size > FEISHU_BODY_MAX_BYTES - 3000, String(size));
  assert.match(m.card.body.elements[0]!.content, /…另有 \d+ 条告警未列出\n$/);
});
