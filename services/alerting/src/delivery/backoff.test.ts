import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DeliveryError } from '../errors.ts';
import { DEFAULT_RETRY_POLICY, nextDelay, type RetryPolicy } from './backoff.ts';

const policy: RetryPolicy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 10, maxRetryAfterMs: 3_600_000 };
const unavailable = new DeliveryError('503', { code: 'RECEIVER_UNAVAILABLE', retryable: true });
const top = () => 0.999999;

test('the ceiling doubles from baseMs per attempt and stops at maxMs', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((a) => nextDelay(a, unavailable, policy, top));
  assert.deepEqual(
    delays.map((d) => (d.retry ? d.delayMs : -1)),
    [999, 1999, 3999, 7999, 15999, 31999, 59999, 59999, 59999],
  );
  assert.deepEqual(
    nextDelay(3, unavailable, policy, () => 0),
    { retry: true, delayMs: 0 },
    'full jitter reaches zero',
  );
  assert.deepEqual(
    nextDelay(3, unavailable, policy, () => 0.5),
    { retry: true, delayMs: 2000 },
  );
});

test('full jitter: every delay lies in [0, min(maxMs, baseMs * 2^(attempt-1))), even after thousands of attempts', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const d = nextDelay(attempt, unavailable, DEFAULT_RETRY_POLICY, () => r);
      assert.ok(d.retry);
      const ceiling = Math.min(DEFAULT_RETRY_POLICY.maxMs, DEFAULT_RETRY_POLICY.baseMs * 2 ** (attempt - 1));
      assert.ok(d.delayMs >= 0 && d.delayMs < ceiling && Number.isInteger(d.delayMs), `${d.delayMs} for attempt ${attempt}`);
    }),
  );
});

test('Retry-After of a 429 or 503 is waited at least, up to maxRetryAfterMs', () => {
  const limited = (ms: number) => new DeliveryError('429', { code: 'RECEIVER_RATE_LIMITED', retryable: true, retryAfterMs: ms });
  assert.deepEqual(nextDelay(1, limited(30_000), policy, top), { retry: true, delayMs: 30_000 });
  assert.deepEqual(nextDelay(8, limited(10), policy, top), { retry: true, delayMs: 59_999 }, 'a longer backoff wins');
  assert.deepEqual(nextDelay(1, limited(86_400_000), policy, top), { retry: true, delayMs: 3_600_000 });
  assert.deepEqual(
    nextDelay(1, limited(1500.2), policy, () => 0),
    { retry: true, delayMs: 1501 },
  );
});

test('an error that is not retryable, or the last allowed attempt, gives up', () => {
  const refused = new DeliveryError('400', { code: 'RECEIVER_REFUSED', retryable: false, retryAfterMs: 1000 });
  assert.deepEqual(nextDelay(1, refused, policy, top), { retry: false, reason: 'not-retryable' });
  assert.deepEqual(nextDelay(10, unavailable, policy, top), { retry: false, reason: 'attempts-exhausted' });
  assert.deepEqual(
    nextDelay(9, unavailable, policy, () => 0),
    { retry: true, delayMs: 0 },
  );
  // A receiver's bug says nothing about retrying: it is retried.
  assert.equal(nextDelay(1, new TypeError('x is undefined'), policy, top).retry, true);
  assert.equal(nextDelay(1, 'thrown string', policy, top).retry, true);
});
