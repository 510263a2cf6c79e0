import assert from 'node:assert/strict';
import { test } from 'node:test';
import { holds, type LeaseTimings, nextEpoch, nextLeaseStep, observe, timingProblems } from './lease-decision.ts';

const t: LeaseTimings = { ttlMs: 10_000, renewMs: 2_000, renewDeadlineMs: 8_000 };
const rec = { holder: 'a', epoch: 5, url: 'http://a' };

test('a follower seeing no key acquires it at once, with a wall-clock floored epoch', () => {
  const seen = observe(null, 0, null, 100);
  assert.deepEqual(nextLeaseStep({ held: null, seen }, 100, 1_700_000_000_000, t), {
    kind: 'acquire',
    expected: 0,
    epoch: 1_700_000_000_000,
  });
});

test('a follower waits ttl of its own clock from when it first saw a revision, then takes over expecting it', () => {
  let seen = observe(null, 7, rec, 1_000);
  assert.deepEqual(nextLeaseStep({ held: null, seen }, 5_000, 0, t), { kind: 'wait', ms: 2_000 });
  // Seeing the same revision again does not restart the wait.
  seen = observe(seen, 7, rec, 9_000);
  assert.equal(seen.since, 1_000);
  assert.deepEqual(nextLeaseStep({ held: null, seen }, 10_999, 0, t), { kind: 'wait', ms: 1 });
  assert.deepEqual(nextLeaseStep({ held: null, seen }, 11_000, 0, t), { kind: 'acquire', expected: 7, epoch: 6 });
});

test('a renewal seen by the follower restarts its wait', () => {
  let seen = observe(null, 7, rec, 1_000);
  seen = observe(seen, 8, rec, 10_500);
  assert.equal(nextLeaseStep({ held: null, seen }, 11_000, 0, t).kind, 'wait');
});

test('a leader renews every renewMs, expecting the revision it wrote', () => {
  const held = { epoch: 5, revision: 9, renewedAt: 1_000 };
  assert.deepEqual(nextLeaseStep({ held, seen: null }, 2_500, 0, t), { kind: 'wait', ms: 500 });
  assert.deepEqual(nextLeaseStep({ held, seen: null }, 3_000, 0, t), { kind: 'renew', expected: 9 });
});

test('a leader that could not renew for renewDeadlineMs steps down, before any follower may take over', () => {
  const held = { epoch: 5, revision: 9, renewedAt: 1_000 };
  assert.equal(holds(held, 8_999, t), true);
  assert.equal(holds(held, 9_000, t), false);
  assert.deepEqual(nextLeaseStep({ held, seen: null }, 9_000, 0, t), { kind: 'step-down' });
  // A follower that saw revision 9 at the earliest when it was written (>= renewedAt) waits until >= 11 000.
  const seen = observe(null, 9, rec, 1_000);
  assert.equal(nextLeaseStep({ held: null, seen }, 10_999, 0, t).kind, 'wait');
});

test('epochs grow with every holder, and stay above a lost bucket', () => {
  assert.equal(nextEpoch(5, 0), 6);
  assert.equal(nextEpoch(undefined, 1234.9), 1234);
  assert.equal(nextEpoch(2_000_000_000_000, 1_000), 2_000_000_000_001);
});

test('timings where a leader could still act while a follower takes over are refused', () => {
  assert.deepEqual(timingProblems(t), []);
  assert.equal(timingProblems({ ttlMs: 8_000, renewMs: 2_000, renewDeadlineMs: 8_000 }).length, 1);
  assert.equal(timingProblems({ ttlMs: 10_000, renewMs: 8_000, renewDeadlineMs: 8_000 }).length, 1);
});

test('a replica restarted after a crash takes its own lease back at once, with a new epoch', () => {
  const seen = observe(null, 7, { ...rec, replica: 'sched-a' }, 1_000);
  assert.deepEqual(nextLeaseStep({ held: null, seen }, 1_000, 0, t, 'sched-a'), { kind: 'acquire', expected: 7, epoch: 6 });
  assert.equal(nextLeaseStep({ held: null, seen }, 1_000, 0, t, 'sched-b').kind, 'wait');
  assert.equal(nextLeaseStep({ held: null, seen: observe(null, 7, rec, 1_000) }, 1_000, 0, t, '').kind, 'wait');
});
