// The zero-overhead replay drives the real admission and plan progression on a simulated
// clock; these pin what it makes of small hand-checked cases, of the yardsticks beside it,
// and (at 10,000 hosts) the gap between FIFO and longest-first that the benchmark reports
// at 100,000 (tests/bench/schedule-model.bench.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanInput } from './plan-spec.ts';
import { lognormalWorkload } from './replay-workload.ts';
import {
  batchBarrierSeconds,
  exponentialRampSeconds,
  gatedLowerBoundSeconds,
  lowerBoundSeconds,
  type ReplayHost,
  ReplayInputError,
  ReplayStuckError,
  replaySchedule,
} from './schedule-replay.ts';

const policy = (over: Partial<PlanInput> = {}): PlanInput => ({
  name: 'replay',
  selector: { pool: 'p' },
  profile: 'debian-11-to-12',
  canary: { percent: 100 },
  promotion: { mode: 'auto', soakSeconds: 0 },
  errorBudget: { plan: { percent: 100 } },
  clusterCheck: { minHealthyPercent: 0 },
  limits: { maxInFlight: 2 },
  ...over,
});

const hosts = (seconds: number[], predicted = true, clusters = 1): ReplayHost[] =>
  seconds.map((s, i) => ({
    hostId: `h${i}`,
    cluster: `c${i % clusters}`,
    zone: '',
    rack: '',
    seconds: s,
    ...(predicted ? { predictedSeconds: s } : {}),
  }));

test('longest first on exact predictions: 3, 1, 1, 1 on two slots end at 3, the lower bound', () => {
  const r = replaySchedule(policy(), hosts([1, 1, 3, 1]));
  assert.equal(r.makespanSeconds, 3);
  assert.equal(lowerBoundSeconds([1, 1, 3, 1], 2), 3);
  assert.equal(r.peakInFlight, 2);
});

test('the limits hold in the replay: maxInFlight, and a per-cluster limit', () => {
  const six = hosts([1, 1, 1, 1, 1, 1], true, 2);
  assert.equal(replaySchedule(policy({ limits: { maxInFlight: 6 } }), six).makespanSeconds, 1);
  const perCluster = policy({ limits: { maxInFlight: 6, perCluster: { count: 1 } } });
  const r = replaySchedule(perCluster, six);
  assert.equal(r.peakInFlight, 2, 'one per cluster, two clusters');
  assert.equal(r.makespanSeconds, 3);
});

test('the canary gate and its soak: the waves start when the canary is done and soaked', () => {
  const input = policy({ canary: { count: 1 }, promotion: { mode: 'auto', soakSeconds: 5 }, limits: { maxInFlight: 10 } });
  // Whichever host the plan's order makes the canary, it alone runs first, then the soak, then the other two.
  const r = replaySchedule(input, hosts([10, 10, 10]));
  assert.equal(r.makespanSeconds, 10 + 5 + 10);
  assert.equal(gatedLowerBoundSeconds(input, hosts([10, 10, 10])), 25);
  // A manual gate is approved the moment it is reached.
  assert.equal(replaySchedule({ ...input, promotion: { mode: 'manual' } }, hosts([10, 10, 10])).makespanSeconds, 20);
});

test('batch barrier (Ansible serial) and exponential ramp (SSM rate control) on the same durations', () => {
  const d = [5, 1, 1, 1, 1, 1];
  // Batches of 2: [5, 1] [1, 1] [1, 1].
  assert.equal(batchBarrierSeconds(d, 2), 7);
  // Batches of 1, 2, 2, 2 (capped at 2): [5] [1, 1] [1, 1] [1].
  assert.equal(exponentialRampSeconds(d, 2), 8);
  // Ramp 1, 2, 4: [5] [1, 1] [1, 1, 1].
  assert.equal(exponentialRampSeconds(d, 8), 7);
});

test('lognormal durations (σ 0.5), 10,000 hosts on 500 slots: FIFO well above the bound, longest first near it on noisy predictions', () => {
  const spec = { hosts: 10_000, clusters: 100, medianSeconds: 600, sigma: 0.5, seed: 7 };
  const fifo = lognormalWorkload(spec);
  const noisy = lognormalWorkload({ ...spec, predictionSigma: 0.3 });
  const input = policy({ limits: { maxInFlight: 500 } });
  const bound = lowerBoundSeconds(
    fifo.map((h) => h.seconds),
    500,
  );
  const fifoRatio = replaySchedule(input, fifo).makespanSeconds / bound;
  const longestFirst = replaySchedule(input, noisy).makespanSeconds / bound;
  // At 10,000 hosts the tail is a few dozen hosts, so the ratios vary with the seed more
  // than at 100,000 (the benchmark's 1.29 and 1.03); the gap between them does not.
  assert.ok(fifoRatio > 1.1, `FIFO ${fifoRatio.toFixed(3)} × the bound`);
  assert.ok(longestFirst < 1.05, `longest first ${longestFirst.toFixed(3)} × the bound`);
  assert.ok(fifoRatio - longestFirst > 0.05, `FIFO ${fifoRatio.toFixed(3)}, longest first ${longestFirst.toFixed(3)}`);
  assert.ok(
    noisy.every((h, i) => h.seconds === fifo[i]?.seconds),
    'the same durations, only predictions added',
  );
});

test('bad input is refused naming what is wrong; a policy that can start nothing is reported stuck', () => {
  assert.throws(
    () => replaySchedule(policy(), []),
    (e) => e instanceof ReplayInputError && /hosts: none/.test(e.message),
  );
  assert.throws(
    () => replaySchedule(policy(), [...hosts([1]), ...hosts([2])]),
    (e) => e instanceof ReplayInputError && /hosts\[1\]\.hostId: h0 is listed twice/.test(e.message),
  );
  assert.throws(
    () => replaySchedule(policy(), hosts([1, Number.NaN])),
    (e) => e instanceof ReplayInputError && /hosts\[1\]\.seconds/.test(e.message),
  );
  assert.throws(() => replaySchedule(policy({ limits: { maxInFlight: 0 } }), hosts([1])), ReplayStuckError);
});
