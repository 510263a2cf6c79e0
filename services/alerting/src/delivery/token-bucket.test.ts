import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Bucket, checkRateLimit, fullBucket, takeToken } from './token-bucket.ts';

test('a full bucket gives its burst at once, then a token per 60000/perMinute ms', () => {
  const limit = { perMinute: 20, burst: 2 };
  let b: Bucket = fullBucket(limit, 0);
  const take = (now: number) => {
    const r = takeToken(b, limit, now);
    b = r.bucket;
    return r.waitMs;
  };
  assert.deepEqual([take(0), take(0), take(0)], [0, 0, 3000]);
  assert.equal(take(1000), 2000, 'a third of a token after 1 s');
  assert.equal(take(3000), 0);
  assert.equal(take(600_000), 0, 'a long quiet spell refills to burst, not beyond');
  assert.equal(take(600_000), 0);
  assert.equal(take(600_000), 3000);
});

test('a clock that goes back refills nothing', () => {
  const limit = { perMinute: 60 };
  const r = takeToken({ tokens: 0.5, at: 10_000 }, limit, 5_000);
  assert.deepEqual(r, { bucket: { tokens: 0.5, at: 5_000 }, waitMs: 500 });
});

test('checkRateLimit reads per_minute and burst and names every problem', () => {
  assert.deepEqual(checkRateLimit({ per_minute: 20 }, 'r.rate_limit'), { limit: { perMinute: 20 }, problems: [] });
  assert.deepEqual(checkRateLimit({ per_minute: 0.5, burst: 3 }, 'r.rate_limit'), { limit: { perMinute: 0.5, burst: 3 }, problems: [] });
  assert.deepEqual(checkRateLimit({ burst: 1.5, perMinute: 20 }, 'r.rate_limit').problems, [
    'r.rate_limit.perMinute: unknown key (known: per_minute, burst)',
    'r.rate_limit.burst: must be a whole number',
    'r.rate_limit.per_minute: is required',
  ]);
  assert.deepEqual(checkRateLimit({ per_minute: -1 }, 'x').problems, ['x.per_minute: must be a number above 0']);
  assert.deepEqual(checkRateLimit(20, 'x').problems, ['x: must be an object with per_minute']);
});
