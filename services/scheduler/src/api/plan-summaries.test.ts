import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countsOf, countsOfLatest, planSummary } from './plan-summaries.ts';

test('counts by state add up in flight; failures are counted apart', () => {
  assert.deepEqual(
    countsOf(
      6,
      [
        { state: 'succeeded', n: 2 },
        { state: 'active', n: 1 },
        { state: 'held', n: 1 },
        { state: 'failed', n: 2 },
      ],
      3,
    ),
    { total: 6, pending: 0, active: 1, held: 1, succeeded: 2, failed: 2, excluded: 0, inFlight: 2, failures: 3 },
  );
});

test('a plan not compacted is counted by the latest version of each run', () => {
  const c = countsOfLatest(2, [
    { key: 'p/a', version: 1, state: 'pending', failure: null },
    { key: 'p/a', version: 3, state: 'failed', failure: { code: 'X' } },
    { key: 'p/a', version: 2, state: 'active', failure: null },
    { key: 'p/b', version: 1, state: 'pending', failure: { code: 'Y' } },
  ]);
  assert.deepEqual(c, { total: 2, pending: 1, active: 0, held: 0, succeeded: 0, failed: 1, excluded: 0, inFlight: 0, failures: 1 });
});

test('a plan partly compacted counts its archived runs and the latest versions of the rest, each run once', () => {
  // p/a and p/b were archived; p/c's archive insert failed, so it is only in run_states.
  // p/a's versions were not dropped yet: they must not count a second time.
  const archived = {
    byState: [
      { state: 'succeeded', n: 1 },
      { state: 'failed', n: 1 },
    ],
    failures: 1,
    keys: new Set(['p/a', 'p/b']),
  };
  const c = countsOfLatest(
    3,
    [
      { key: 'p/a', version: 1, state: 'pending', failure: null },
      { key: 'p/a', version: 4, state: 'succeeded', failure: null },
      { key: 'p/c', version: 1, state: 'pending', failure: null },
      { key: 'p/c', version: 2, state: 'active', failure: null },
    ],
    archived,
  );
  assert.deepEqual(c, { total: 3, pending: 0, active: 1, held: 0, succeeded: 1, failed: 1, excluded: 0, inFlight: 1, failures: 1 });
});

test('a summary says how many phases its plan has (the canary and the waves), none when it stored none', () => {
  const doc = {
    _id: 'p-1',
    name: 'n',
    state: 'running' as const,
    stateReason: '',
    createdAt: new Date(0),
    createdBy: 'me',
    finishedAt: null,
    hostCount: 3,
    openPhase: 1,
    gate: null,
    budget: 1,
    spec: { profile: 'debian-11-to-12' },
  };
  const counts = countsOf(3, [], 0);
  assert.equal(planSummary({ ...doc, phases: [{}, {}, {}] } as never, counts).phaseCount, 3);
  assert.equal(planSummary(doc as never, counts).phaseCount, 0);
});
