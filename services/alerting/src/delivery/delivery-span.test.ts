// A notification's delivery as a span: linked to the traces of the alerts it carries,
// its attempts as children, its outcome and attempt count when it ends.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSpan } from '@yixing/common';
import { type RecordedSpans, recordSpans } from '@yixing/common/internal';
import { DeliveryError } from '../errors.ts';
import { failedStep, notification } from '../receivers/notification.testing.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import { FakeReceiver, FakeTimers } from './fake-timers.testing.ts';

let rec: RecordedSpans;
before(() => {
  rec = recordSpans();
});
after(() => rec.stop());

const retry = { baseMs: 1000, maxMs: 60_000, maxAttempts: 2, maxRetryAfterMs: 3_600_000 };
const unavailable = () => new DeliveryError('503 from the receiver', { code: 'RECEIVER_UNAVAILABLE', retryable: true });

function queue(receiverName: string) {
  const timers = new FakeTimers(0);
  const receiver = new FakeReceiver(receiverName, timers);
  const q = new DeliveryQueue({
    receiver,
    retry,
    attemptTimeoutMs: 10_000,
    callbacks: { delivered: () => undefined, failed: () => undefined },
    timers,
    random: () => 0.5,
  });
  return { timers, receiver, q };
}

test("a grouped notification's delivery links each alert's trace; attempts are its children; delivered after two", async () => {
  // Two runs' alerts, each fired in its run's trace; a third alert of the first run's trace again.
  const runs = [startSpan('alert evaluate', { parent: '' }), startSpan('alert evaluate', { parent: '' })];
  for (const r of runs) r.end();
  const alerts = [
    failedStep(1, { traceparent: runs[0]?.traceparent }),
    failedStep(2, { traceparent: runs[1]?.traceparent }),
    failedStep(3, { traceparent: runs[0]?.traceparent }),
    failedStep(4),
  ];
  const { timers, receiver, q } = queue('ops');
  q.enqueue(notification(alerts, { id: 'n-linked', receiver: 'ops' }));
  await timers.advance(0);
  receiver.calls[0]?.reject(unavailable());
  await timers.advance(500);
  receiver.calls[1]?.resolve();
  await timers.advance(0);

  const [delivery] = rec.finished().filter((s) => s.name === 'alert deliver' && s.attributes['yx.notification'] === 'n-linked');
  assert.ok(delivery, 'the delivery span ended');
  assert.equal(delivery.parentSpanContext, undefined, 'a trace of its own');
  assert.deepEqual(
    delivery.links.map((l) => l.context.spanId),
    runs.map((r) => r.traceparent.split('-')[2]),
    'one link per alert trace, none for an alert without one',
  );
  assert.equal(delivery.attributes['yx.receiver'], 'ops');
  assert.equal(delivery.attributes['yx.alerts'], 4);
  assert.equal(delivery.attributes['yx.outcome'], 'delivered');
  assert.equal(delivery.attributes['yx.attempts'], 2);
  assert.equal(delivery.status.code, 0);
  const attempts = rec.childrenOf(delivery);
  assert.deepEqual(
    attempts.map((a) => [a.name, a.attributes['yx.attempt'], a.status.message ?? '']),
    [
      ['alert deliver attempt', 1, '503 from the receiver'],
      ['alert deliver attempt', 2, ''],
    ],
  );
});

test('a delivery given up ends as an error with its attempts; one left pending at stop ends as left', async () => {
  const { timers, receiver, q } = queue('pager');
  q.enqueue(notification([failedStep(1)], { id: 'n-given-up', receiver: 'pager', groupKey: 'g1' }));
  await timers.advance(0);
  receiver.calls[0]?.reject(unavailable());
  await timers.advance(500);
  receiver.calls[1]?.reject(unavailable());
  await timers.advance(0);
  const [givenUp] = rec.finished().filter((s) => s.attributes['yx.notification'] === 'n-given-up' && s.name === 'alert deliver');
  assert.equal(givenUp?.attributes['yx.outcome'], 'abandoned');
  assert.equal(givenUp?.attributes['yx.attempts'], 2);
  assert.equal(givenUp?.status.code, 2);
  assert.equal(givenUp?.status.message, '503 from the receiver');

  q.enqueue(notification([failedStep(2)], { id: 'n-left', receiver: 'pager', groupKey: 'g2' }));
  await timers.advance(0);
  receiver.calls[2]?.reject(unavailable());
  await timers.advance(0);
  await q.stop();
  const [left] = rec.finished().filter((s) => s.attributes['yx.notification'] === 'n-left' && s.name === 'alert deliver');
  assert.equal(left?.attributes['yx.outcome'], 'left');
  assert.equal(left?.attributes['yx.attempts'], 1);
});
