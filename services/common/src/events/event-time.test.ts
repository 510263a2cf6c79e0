import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clampEventTime, EVENT_CLOCK_SKEW_MS } from './event-time.ts';

const now = 1_800_000_000_000;
const bounds = { notBefore: now - 3_600_000, now };

test('a time within the run is kept', () => {
  assert.equal(clampEventTime(now - 60_000, bounds), now - 60_000);
  assert.equal(clampEventTime(now + 1_000, bounds), now + 1_000, 'a clock slightly ahead is tolerated');
});

test('a time before the run began, or far ahead, is clamped; none is now', () => {
  assert.equal(clampEventTime(1, bounds), bounds.notBefore, 'a forged atMs: 1 cannot start a clock in 1970');
  assert.equal(clampEventTime(now + 86_400_000, bounds), now + EVENT_CLOCK_SKEW_MS);
  assert.equal(clampEventTime(0, bounds), now);
  assert.equal(clampEventTime(Number.NaN, bounds), now);
  assert.equal(clampEventTime(now + 5_000, { ...bounds, skewMs: 0 }), now);
  assert.equal(clampEventTime(1, { notBefore: now + 3_600_000, now }), now + EVENT_CLOCK_SKEW_MS);
});
