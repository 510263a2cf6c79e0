import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DeliveryError } from '../errors.ts';
import { type CaptureServer, closedPort, startCaptureServer } from './capture-server.testing.ts';
import { classifyHttpStatus, parseRetryAfter, postJson } from './http-post.ts';

const now = Date.parse('2026-12-06T12:00:00Z');

test('Retry-After: delay seconds, an HTTP date (past → 0), nothing or garbage → undefined', () => {
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Sun, 06 Dec 2026 12:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Sunday, 06-Dec-26 12:01:00 GMT', now), 60_000);
  assert.equal(parseRetryAfter('Sun, 06 Dec 2026 11:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(parseRetryAfter('', now), undefined);
  assert.equal(parseRetryAfter('-5', now), undefined);
  assert.equal(parseRetryAfter('1.5', now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('1 2 3', now), undefined);
});

test('statuses: 2xx ok; 408, 429, 5xx retryable with their codes; other 4xx and 3xx refused', () => {
  const c = (status: number, retryAfter: string | null = null) =>
    classifyHttpStatus('r1', 'http://x', status, 'b'.repeat(800), retryAfter, now);
  assert.equal(c(200), undefined);
  assert.equal(c(202), undefined);
  assert.deepEqual(
    [408, 429, 500, 502, 503, 301, 400, 401, 404, 413].map((s) => [s, c(s)?.code, c(s)?.retryable]),
    [
      [408, 'RECEIVER_TIMEOUT', true],
      [429, 'RECEIVER_RATE_LIMITED', true],
      [500, 'RECEIVER_UNAVAILABLE', true],
      [502, 'RECEIVER_UNAVAILABLE', true],
      [503, 'RECEIVER_UNAVAILABLE', true],
      [301, 'RECEIVER_REFUSED', false],
      [400, 'RECEIVER_REFUSED', false],
      [401, 'RECEIVER_REFUSED', false],
      [404, 'RECEIVER_REFUSED', false],
      [413, 'RECEIVER_REFUSED', false],
    ],
  );
  assert.equal(c(503, '7')?.retryAfterMs, 7000);
  assert.equal(c(400, '7')?.retryAfterMs, undefined);
  const msg = c(400)!.message;
  assert.ok(msg.startsWith('r1: HTTP 400 from http://x: '), msg);
  assert.equal(msg.length, 'r1: HTTP 400 from http://x: '.length + 500);
});

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer();
});
after(() => srv.close());

const post = (path: string, timeoutMs = 5000, signal = new AbortController().signal) =>
  postJson({ url: srv.base + path, body: { a: '告警' }, headers: { 'x-extra': '1' }, timeoutMs, signal, label: 'r1' });

async function rejection(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, String(err));
    return err;
  }
  assert.fail('expected a DeliveryError');
}

test('a 2xx resolves with the body; the request is one JSON POST with the given headers', async () => {
  srv.answers.push({ status: 200, body: { errcode: 0 } });
  const res = await post('/hook?token=secret');
  assert.deepEqual(res, { status: 200, body: '{"errcode":0}' });
  const req = srv.requests.at(-1)!;
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/hook?token=secret');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['x-extra'], '1');
  assert.deepEqual(JSON.parse(req.body), { a: '告警' });
});

test('a 429 with Retry-After is retryable after that long; a 503 with an HTTP date too', async () => {
  srv.answers.push({ status: 429, headers: { 'retry-after': '3' }, body: 'slow down' });
  const e = await rejection(post('/x'));
  assert.deepEqual([e.code, e.retryable, e.retryAfterMs], ['RECEIVER_RATE_LIMITED', true, 3000]);
  const at = new Date(Date.now() + 60_000).toUTCString();
  srv.answers.push({ status: 503, headers: { 'retry-after': at } });
  const e2 = await rejection(post('/x'));
  assert.equal(e2.code, 'RECEIVER_UNAVAILABLE');
  assert.ok(e2.retryAfterMs! > 55_000 && e2.retryAfterMs! <= 60_000, String(e2.retryAfterMs));
});

test('a 400 is refused for good, quoting the body; the message never shows the path or query', async () => {
  srv.answers.push({ status: 400, body: 'invalid routing key' });
  const e = await rejection(post('/v2/enqueue?access_token=SECRET'));
  assert.deepEqual([e.code, e.retryable], ['RECEIVER_REFUSED', false]);
  assert.match(e.message, /^r1: HTTP 400 from http:\/\/127\.0\.0\.1:\d+: invalid routing key$/);
  assert.doesNotMatch(e.message, /SECRET|enqueue/);
});

test('no answer within the timeout, or the caller aborting, is a retryable RECEIVER_TIMEOUT', async () => {
  srv.answers.push({ hang: true });
  const e = await rejection(post('/slow', 200));
  assert.deepEqual([e.code, e.retryable], ['RECEIVER_TIMEOUT', true]);
  srv.answers.push({ hang: true });
  const ac = new AbortController();
  const p = post('/slow', 60_000, ac.signal);
  await srv.received(srv.requests.length + 1);
  ac.abort();
  assert.equal((await rejection(p)).code, 'RECEIVER_TIMEOUT');
});

test('a connection reset and a connection refused are retryable RECEIVER_UNAVAILABLE', async () => {
  srv.answers.push({ reset: true });
  const e = await rejection(post('/x'));
  assert.deepEqual([e.code, e.retryable], ['RECEIVER_UNAVAILABLE', true]);
  const port = await closedPort();
  const refused = await rejection(
    postJson({ url: `http://127.0.0.1:${port}/x`, body: {}, timeoutMs: 5000, signal: new AbortController().signal, label: 'r2' }),
  );
  assert.deepEqual([refused.code, refused.retryable], ['RECEIVER_UNAVAILABLE', true]);
  assert.match(refused.message, /^r2: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
});

test('a redirect is not followed (a POST may turn into a GET): refused, one request only', async () => {
  const before = srv.requests.length;
  srv.answers.push({ status: 307, headers: { location: `${srv.base}/elsewhere` } });
  const e = await rejection(post('/moved'));
  assert.deepEqual([e.code, e.retryable, srv.requests.length - before], ['RECEIVER_REFUSED', false, 1]);
});
