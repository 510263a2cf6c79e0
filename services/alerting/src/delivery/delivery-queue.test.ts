import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryError } from '../errors.ts';
import type { Notification } from '../model/alert.ts';
import { failedStep, notification } from '../receivers/notification.testing.ts';
import type { RetryPolicy } from './backoff.ts';
import { type DeliveryCallbacks, DeliveryQueue, type DeliveryQueueOptions, DeliveryQueues } from './delivery-queue.ts';
import { FakeReceiver, FakeTimers } from './fake-timers.testing.ts';

const retry: RetryPolicy = { baseMs: 1000, maxMs: 60_000, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 3_600_000 };
const unavailable = () => new DeliveryError('503', { code: 'RECEIVER_UNAVAILABLE', retryable: true });
const refused = () => new DeliveryError('400', { code: 'RECEIVER_REFUSED', retryable: false });
const note = (id: string, groupKey = 'g1', receiver = 'r'): Notification => ({ ...notification([failedStep(1)]), id, groupKey, receiver });

function recorder(superseded = new Set<string>()) {
  const events: string[] = [];
  const callbacks: DeliveryCallbacks = {
    delivered: (id, attempts, latencyMs) => events.push(`delivered ${id} attempts=${attempts} latency=${latencyMs}`),
    failed: (id, err, willRetry) => events.push(`failed ${id} ${(err as DeliveryError).code} retry=${willRetry}`),
    superseded: (id) => superseded.has(id),
  };
  return { events, callbacks, superseded };
}

function setup(over: Partial<DeliveryQueueOptions> = {}, answer?: FakeReceiver['answer']) {
  const timers = new FakeTimers(0);
  const receiver = new FakeReceiver('r', timers, answer);
  const rec = recorder();
  const queue = new DeliveryQueue({
    receiver,
    retry,
    attemptTimeoutMs: 10_000,
    callbacks: rec.callbacks,
    timers,
    random: () => 0.5,
    ...over,
  });
  return { timers, receiver, queue, ...rec };
}

test('retries with backoff until delivered, reporting each failure and the delivery', async () => {
  const { timers, receiver, queue, events } = setup();
  queue.enqueue(note('n1'));
  await timers.advance(0);
  receiver.calls[0]!.reject(unavailable());
  await timers.advance(499);
  assert.equal(receiver.calls.length, 1, 'no retry before the backoff');
  await timers.advance(1);
  receiver.calls[1]!.reject(unavailable());
  await timers.advance(1000);
  receiver.calls[2]!.resolve();
  await timers.advance(0);
  assert.deepEqual(receiver.log, ['0 n1', '500 n1', '1500 n1']);
  assert.deepEqual(events, [
    'failed n1 RECEIVER_UNAVAILABLE retry=true',
    'failed n1 RECEIVER_UNAVAILABLE retry=true',
    'delivered n1 attempts=3 latency=1500',
  ]);
  assert.deepEqual(queue.pending(), []);
  assert.equal(timers.pending, 0, 'no timer left behind');
});

test('a refusal is not retried, and the next notification goes', async () => {
  const { timers, receiver, queue, events } = setup({}, (c) => (c.id === 'n1' ? c.reject(refused()) : c.resolve()));
  queue.enqueue(note('n1'));
  queue.enqueue(note('n2'));
  await timers.advance(60_000);
  assert.deepEqual(receiver.log, ['0 n1', '0 n2']);
  assert.deepEqual(events, ['failed n1 RECEIVER_REFUSED retry=false', 'delivered n2 attempts=1 latency=0']);
});

test('Retry-After holds every notification of the receiver, not only the one that got it', async () => {
  let limited = true;
  const { timers, receiver, queue } = setup({}, (c) => {
    if (limited) {
      limited = false;
      c.reject(new DeliveryError('429', { code: 'RECEIVER_RATE_LIMITED', retryable: true, retryAfterMs: 30_000 }));
    } else c.resolve();
  });
  queue.enqueue(note('n1', 'g1'));
  queue.enqueue(note('n2', 'g2'));
  await timers.advance(29_999);
  assert.deepEqual(receiver.log, ['0 n1']);
  await timers.advance(1);
  assert.deepEqual(receiver.log, ['0 n1', '30000 n1', '30000 n2']);
});

test('the rate limit: a burst of 20, then one every 3 s at 20 a minute', async () => {
  const { timers, receiver, queue, events } = setup({ rateLimit: { perMinute: 20 } }, (c) => c.resolve());
  for (let i = 0; i < 24; i++) queue.enqueue(note(`n${i}`, `g${i}`));
  await timers.advance(12_000);
  const times = receiver.calls.map((c) => c.at);
  assert.deepEqual(times, [...Array<number>(20).fill(0), 3000, 6000, 9000, 12_000]);
  assert.equal(events.at(-1), 'delivered n23 attempts=1 latency=12000');
});

test('an attempt past its timeout is aborted and retried, even when the receiver ignores the signal', async () => {
  const { timers, receiver, queue, events } = setup({ attemptTimeoutMs: 5000 });
  queue.enqueue(note('n1'));
  await timers.advance(4999);
  assert.equal(receiver.calls[0]!.signal.aborted, false);
  await timers.advance(1);
  assert.equal(receiver.calls[0]!.signal.aborted, true);
  assert.deepEqual(events, ['failed n1 RECEIVER_TIMEOUT retry=true']);
  await timers.advance(500);
  receiver.calls[0]!.resolve(); // too late: dropped
  receiver.calls[1]!.resolve();
  await timers.advance(0);
  assert.deepEqual(events, ['failed n1 RECEIVER_TIMEOUT retry=true', 'delivered n1 attempts=2 latency=5500']);
});

test('a receiver that is down for an hour does not hold up another', async () => {
  const timers = new FakeTimers(0);
  const down = new FakeReceiver('down', timers, (c) => c.reject(unavailable()));
  const hung = new FakeReceiver('hung', timers);
  const up = new FakeReceiver('up', timers, (c) => c.resolve());
  const rec = recorder();
  const queues = new DeliveryQueues([down, hung, up], () => ({
    retry,
    attemptTimeoutMs: 10_000,
    callbacks: rec.callbacks,
    timers,
    random: () => 1 - 1e-9,
  }));
  for (let i = 0; i < 3; i++) for (const r of ['down', 'hung', 'up']) queues.enqueue(note(`${r}-${i}`, `g${i}`, r));
  await timers.advance(0);
  assert.deepEqual(up.log, ['0 up-0', '0 up-1', '0 up-2']);
  await timers.advance(3_600_000);
  queues.enqueue(note('up-late', 'g9', 'up'));
  await timers.advance(0);
  assert.equal(up.log.at(-1), '3600000 up-late');
  assert.ok(down.calls.length > 10 && hung.calls.length > 10, `${down.calls.length} and ${hung.calls.length} attempts`);
  assert.ok(rec.events.every((e) => !e.includes('retry=false')));
  assert.deepEqual(queues.get('down')?.pending(), ['down-0', 'down-1', 'down-2']);
  const stopped = queues.stop();
  for (const c of hung.calls) c.resolve();
  await timers.advance(10_000);
  await stopped;
});

test('a notification waits behind an older one of its group, unless that one is superseded', async () => {
  const { timers, receiver, queue, events, superseded } = setup({}, (c) => (c.id === 'g1-a' ? c.reject(unavailable()) : c.resolve()));
  queue.enqueue(note('g1-a', 'g1'));
  await timers.advance(0);
  queue.enqueue(note('g1-b', 'g1'));
  queue.enqueue(note('g2-a', 'g2'));
  await timers.advance(100);
  assert.deepEqual(receiver.log, ['0 g1-a', '0 g2-a'], 'g1-b waits behind g1-a in backoff; g2 goes');
  superseded.add('g1-a');
  queue.enqueue(note('g3-a', 'g3')); // any wake-up looks again
  await timers.advance(0);
  assert.deepEqual(receiver.log, ['0 g1-a', '0 g2-a', '100 g1-b', '100 g3-a']);
  assert.ok(events.includes('delivered g1-b attempts=1 latency=100'));
  assert.deepEqual(queue.pending(), []);
});

test('stop waits for the attempt in flight and starts no other; enqueue checks its input', async () => {
  const { timers, receiver, queue, events } = setup();
  queue.enqueue(note('n1'));
  queue.enqueue(note('n1'));
  queue.enqueue(note('n2', 'g2'));
  await timers.advance(0);
  let done = false;
  const stopping = queue.stop().then(() => {
    done = true;
  });
  await timers.advance(100);
  assert.equal(done, false);
  receiver.calls[0]!.resolve();
  await stopping;
  await timers.advance(60_000);
  assert.deepEqual(receiver.log, ['0 n1'], 'the duplicate n1 was not queued; n2 was not started');
  assert.deepEqual(events, ['delivered n1 attempts=1 latency=100']);
  assert.deepEqual(queue.pending(), ['n2']);
  assert.throws(() => queue.enqueue(note('n3')), /stopped/);
  const other = setup();
  assert.throws(() => other.queue.enqueue(note('x', 'g', 'elsewhere')), /for receiver elsewhere, not r/);
});
