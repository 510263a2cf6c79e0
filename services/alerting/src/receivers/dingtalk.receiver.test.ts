import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { DeliveryError } from '../errors.ts';
import { type CaptureServer, startCaptureServer } from './capture-server.testing.ts';
import { buildDingTalkMessage, DINGTALK_TEXT_MAX_BYTES, DingTalkReceiver, dingTalkSign, dingTalkSignedUrl } from './dingtalk.receiver.ts';
import { failedStep, notification, T0 } from './notification.testing.ts';
import { utf8Bytes } from './notification-markdown.ts';

const secret = 'SEC0123456789abcdef';

test('the signature: base64 of HMAC-SHA256 keyed by the secret over "timestamp\\nsecret", URL-encoded in the query', () => {
  const expected = createHmac('sha256', secret).update(`${T0}\n${secret}`).digest('base64');
  assert.equal(dingTalkSign(secret, T0), expected);
  const url = dingTalkSignedUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', secret, T0);
  const query = url.split('?')[1]!;
  assert.match(query, new RegExp(`^access_token=abc&timestamp=${T0}&sign=[^+/=]+$`), 'sign must be URL-encoded');
  assert.equal(new URL(url).searchParams.get('sign'), expected);
  assert.equal(
    dingTalkSignedUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', undefined, T0),
    'https://oapi.dingtalk.com/robot/send?access_token=abc',
  );
});

test('markdown message with title and text; mobiles mentioned in at and in the text; ≤ 20000 bytes', () => {
  const m = buildDingTalkMessage(notification([failedStep(1)]), { locale: 'zh-CN', atMobiles: ['13800000000'], atAll: false });
  assert.equal(m.msgtype, 'markdown');
  assert.equal(m.markdown.title, '【告警】StepFailed plan=p1（1 条）');
  assert.match(m.markdown.text, /- 主机: host-001/);
  assert.match(m.markdown.text, /\n\n@13800000000$/);
  assert.deepEqual(m.at, { atMobiles: ['13800000000'], isAtAll: false });
  assert.equal(buildDingTalkMessage(notification([failedStep(1)]), { locale: 'en', atMobiles: [], atAll: false }).at, undefined);
  const many = buildDingTalkMessage(notification(Array.from({ length: 300 }, (_, i) => failedStep(i))), {
    locale: 'zh-CN',
    atMobiles: ['13800000000'],
    atAll: true,
  });
  assert.ok(utf8Bytes(many.markdown.text) <= DINGTALK_TEXT_MAX_BYTES);
  assert.match(many.markdown.text, /…另有 \d+ 条告警未列出\n\n@13800000000$/);
});

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
});
after(() => srv.close());

test('the receiver signs with its clock and POSTs; errcode 130101 is retryable, others refused, non-JSON refused', async () => {
  const r = new DingTalkReceiver(
    'dt',
    { url: `${srv.base}/robot/send?access_token=tok`, secret, atMobiles: [], atAll: false, locale: 'zh-CN', timeoutMs: 5000 },
    () => T0,
  );
  const n = notification([failedStep(1)]);
  const signal = new AbortController().signal;
  await r.send(n, signal);
  const req = srv.requests.at(-1)!;
  const q = new URL(req.url, srv.base).searchParams;
  assert.deepEqual([q.get('access_token'), q.get('timestamp'), q.get('sign')], ['tok', String(T0), dingTalkSign(secret, T0)]);
  assert.deepEqual(JSON.parse(req.body), buildDingTalkMessage(n, { locale: 'zh-CN', atMobiles: [], atAll: false }));
  srv.answers.push({ status: 200, body: { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' } });
  await assert.rejects(
    r.send(n, signal),
    (e: DeliveryError) => e.retryable && e.code === 'RECEIVER_RATE_LIMITED' && e.retryAfterMs === 600_000 && /130101/.test(e.message),
  );
  srv.answers.push({ status: 200, body: { errcode: 310000, errmsg: 'sign not match' } });
  await assert.rejects(
    r.send(n, signal),
    (e: DeliveryError) => !e.retryable && e.code === 'RECEIVER_REFUSED' && /sign not match/.test(e.message),
  );
  srv.answers.push({ status: 200, body: '<html>proxy</html>' });
  await assert.rejects(r.send(n, signal), (e: DeliveryError) => !e.retryable && /unexpected answer/.test(e.message));
  srv.answers.push({ status: 502 });
  await assert.rejects(r.send(n, signal), (e: DeliveryError) => e.retryable && e.code === 'RECEIVER_UNAVAILABLE');
});
