import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foreignSender, stepStartedAt } from './event-sender.ts';

test('only the run host may speak for its run', () => {
  const run = { hostId: 'a-01', runId: 'r-1' };
  assert.equal(foreignSender(run, 'a-01'), undefined);
  assert.equal(foreignSender(run, 'b-01'), 'host b-01 sent an event about run r-1 of host a-01');
});

test("a step's start is clamped between its dispatch and now", () => {
  const now = 1_800_000_000_000;
  const run = { dispatchedAt: new Date(now - 10_000) };
  assert.equal(stepStartedAt(run, now - 5_000, now).getTime(), now - 5_000);
  assert.equal(stepStartedAt(run, 1, now).getTime(), now - 10_000, 'not before the dispatch');
  assert.equal(stepStartedAt(run, now + 86_400_000, now).getTime(), now, 'not in the future: the deadline would move out');
  assert.equal(stepStartedAt(run, 0, now).getTime(), now);
  assert.equal(stepStartedAt({ dispatchedAt: null }, 0, now).getTime(), now);
});
