// Receivers that fail: one answering 500, one 429 with Retry-After, one that does not
// answer in time, one that is down; each is retried with backoff and served in the end,
// with the same notification (one idempotency key), and none holds back a receiver that
// works. The service is a real process; the receivers are real HTTP servers.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type CaptureServer, closedPort, startCaptureServer } from '@yixing/alerting/internal';
import { type AlertingProcess, type EventSource, eventSource, startAlerting } from '../fixtures/alerting.ts';
import { type Stack, startStack } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const ATTEMPT_TIMEOUT_MS = 1_500; // the slow receiver's own timeout
const RETRY_AFTER_S = 2;

let stack: Stack;
let alerting: AlertingProcess;
let events: EventSource;
const hooks: Record<'flaky' | 'limited' | 'slow' | 'fine', CaptureServer> = {} as never;
let downPort: number;
let revived: Server | undefined;
const revivedRequests: { at: number; key: string }[] = [];

before(async () => {
  stack = await startStack('alerting-retries');
  hooks.flaky = await startCaptureServer({ status: 200, body: '' });
  hooks.flaky.answers.push({ status: 500, body: 'boom' }, { status: 503, body: 'busy' });
  hooks.limited = await startCaptureServer({ status: 200, body: '' });
  hooks.limited.answers.push({ status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) }, body: 'slow down' });
  hooks.slow = await startCaptureServer({ status: 200, body: '' });
  hooks.slow.answers.push({ hang: true });
  hooks.fine = await startCaptureServer({ status: 200, body: '' });
  downPort = await closedPort();
  alerting = await startAlerting(stack, {
    route: { receiver: 'all', group_by: ['plan'], group_wait: '500ms', group_interval: '1h', repeat_interval: '1h' },
    receivers: [
      {
        name: 'all',
        webhook_configs: [
          { url: `${hooks.flaky.base}/flaky` },
          { url: `${hooks.limited.base}/limited` },
          { url: `${hooks.slow.base}/slow`, timeout: `${ATTEMPT_TIMEOUT_MS}ms` },
          { url: `http://127.0.0.1:${downPort}/down` },
          { url: `${hooks.fine.base}/fine` },
        ],
      },
    ],
  });
  events = await eventSource(stack);
});

after(async () => {
  await events?.close();
  await alerting?.proc.kill('SIGTERM');
  await Promise.all(Object.values(hooks).map((h) => h.close()));
  await new Promise<void>((resolve) => (revived ? revived.close(() => resolve()) : resolve()));
  await stack?.stop();
});

const keys = (h: CaptureServer): string[] => h.requests.map((r) => String(r.headers['idempotency-key']));

describe('alerting: failing receivers', () => {
  it('500, 429 with Retry-After and a timeout are retried with backoff and served; a receiver that is down holds back no other', async () => {
    await events.stepFailed('p1', 'h1');
    await waitUntil(
      async () => {
        const served =
          hooks.flaky.requests.length >= 3 &&
          hooks.limited.requests.length >= 2 &&
          hooks.slow.requests.length >= 2 &&
          hooks.fine.requests.length >= 1;
        return {
          done: served,
          value: null,
          state: Object.entries(hooks)
            .map(([k, h]) => `${k}:${h.requests.length}`)
            .join(' '),
        };
      },
      { what: 'every receiver that answers served' },
    );
    // 500 then 503 then 200: three attempts of one notification.
    assert.equal(hooks.flaky.requests.length, 3);
    assert.equal(new Set(keys(hooks.flaky)).size, 1, 'the retries carry the same notification');
    // 429 with Retry-After: 2 — the next attempt waits at least that long.
    const [l1, l2] = hooks.limited.requests;
    assert.ok(
      (l2?.at ?? 0) - (l1?.at ?? 0) >= RETRY_AFTER_S * 1000 - 50,
      `retried ${(l2?.at ?? 0) - (l1?.at ?? 0)} ms after a 429 asking for ${RETRY_AFTER_S} s`,
    );
    // No answer: the attempt is given up after its timeout and tried again (a second request
    // at all means the hung one was cut). The gap is measured where the requests arrive, and
    // the first can arrive late on a loaded machine (CI: 3 test files at once) while the
    // timer runs from the send: half the timeout still tells a timeout from a quick retry.
    const [s1, s2] = hooks.slow.requests;
    const gap = (s2?.at ?? 0) - (s1?.at ?? 0);
    assert.ok(gap >= ATTEMPT_TIMEOUT_MS / 2, `the hung attempt was cut at its timeout (${gap} ms between the attempts)`);
    assert.equal(hooks.fine.requests.length, 1);
    assert.equal(revivedRequests.length, 0);

    // The receiver that was down comes up on its address: the notification it was owed arrives, once.
    revived = createServer((req, res) => {
      revivedRequests.push({ at: Date.now(), key: String(req.headers['idempotency-key']) });
      req.resume();
      req.on('end', () => res.end());
    });
    await new Promise<void>((resolve) => revived?.listen(downPort, '127.0.0.1', resolve));
    await waitUntil(async () => ({ done: revivedRequests.length >= 1, value: null, state: String(revivedRequests.length) }), {
      what: 'the receiver that was down served',
    });
    assert.ok((hooks.fine.requests[0]?.at ?? 0) < (revivedRequests[0]?.at ?? 0), 'the working receiver was not held back');
    assert.match(revivedRequests[0]?.key ?? '', /^all\/3\|/);
    for (const h of Object.values(hooks)) assert.equal(new Set(keys(h)).size, 1, 'one notification per receiver, however many attempts');
  });
});
