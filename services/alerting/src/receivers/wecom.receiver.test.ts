import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DeliveryError } from '../errors.ts';
import { type CaptureServer, startCaptureServer } from './capture-server.testing.ts';
import { failedStep, notification } from './notification.testing.ts';
import { utf8Bytes } from './notification-markdown.ts';
import { buildWeComMessage, WECOM_MARKDOWN_MAX_BYTES, WECOM_TEXT_MAX_BYTES, WeComReceiver } from './wecom.receiver.ts';

test('markdown content within 4096 bytes, cut between alerts with "…and N more"', () => {
  const m = buildWeComMessage(notification(Array.from({ length: 200 }, (_, i) => failedStep(i))), { locale: 'en', mentionedMobiles: [] });
  assert.equal(m.msgtype, 'markdown');
  const content = m.msgtype === 'markdown' ? m.markdown.content : '';
  assert.ok(utf8Bytes(content) <= WECOM_MARKDOWN_MAX_BYTES, String(utf8Bytes(content)));
  assert.match(content, /^### \[FIRING:200\] StepFailed plan=p1\n/);
  assert.match(content, /…and \d+ more alerts not listed\n$/);
  assert.match(content, /- Failure code: RPM_TRANSACTION_FAILED/);
  assert.match(content, /Last log lines:\n> \[\d+\] dnf: error: 依赖冲突 package-\d+\n/);
  assert.doesNotMatch(content, /```/);
});

test('with mobiles to mention: the text type (the only one that mentions by mobile), within 2048 bytes', () => {
  const m = buildWeComMessage(notification(Array.from({ length: 50 }, (_, i) => failedStep(i))), {
    locale: 'zh-CN',
    mentionedMobiles: ['13800000000'],
  });
  assert.equal(m.msgtype, 'text');
  if (m.msgtype !== 'text') return;
  assert.deepEqual(m.text.mentioned_mobile_list, ['13800000000']);
  assert.ok(utf8Bytes(m.text.content) <= WECOM_TEXT_MAX_BYTES);
  assert.match(m.text.content, /- 主机: host-000/);
});

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
});
after(() => srv.close());

test('the receiver POSTs to the key URL; errcode 45009 retryable, 93000 refused', async () => {
  const r = new WeComReceiver('wc', {
    url: `${srv.base}/cgi-bin/webhook/send?key=k1`,
    mentionedMobiles: [],
    locale: 'zh-CN',
    timeoutMs: 5000,
  });
  const n = notification([failedStep(1)]);
  const signal = new AbortController().signal;
  await r.send(n, signal);
  const req = srv.requests.at(-1)!;
  assert.equal(req.url, '/cgi-bin/webhook/send?key=k1');
  assert.deepEqual(JSON.parse(req.body), buildWeComMessage(n, { locale: 'zh-CN', mentionedMobiles: [] }));
  srv.answers.push({ status: 200, body: { errcode: 45009, errmsg: 'api freq out of limit' } });
  await assert.rejects(
    r.send(n, signal),
    (e: DeliveryError) => e.retryable && e.code === 'RECEIVER_RATE_LIMITED' && e.retryAfterMs === 60_000,
  );
  srv.answers.push({ status: 200, body: { errcode: 93000, errmsg: 'invalid webhook url' } });
  await assert.rejects(r.send(n, signal), (e: DeliveryError) => !e.retryable && e.code === 'RECEIVER_REFUSED');
});
