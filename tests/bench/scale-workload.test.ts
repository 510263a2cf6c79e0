import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSimulateConfig } from '@yixing/host-agent/internal';
import { defaultScaleOptions, fleetSplits, IDLE_POOL, PLAN_POOL, replayHosts, simConfig, slotHoldSeconds } from './scale-workload.ts';

const small = { ...defaultScaleOptions, hosts: 6_000, registered: 13_000, perFleet: 2_500, clusters: 20, medianSeconds: 60 };

test('the fleet processes carry the plan hosts first, then the idle ones, at most perFleet each', () => {
  const splits = fleetSplits(small);
  assert.deepEqual(
    splits.map((f) => [f.pool, f.offset, f.size]),
    [
      [PLAN_POOL, 0, 2500],
      [PLAN_POOL, 2500, 2500],
      [PLAN_POOL, 5000, 1000],
      [IDLE_POOL, 0, 2500],
      [IDLE_POOL, 2500, 2500],
      [IDLE_POOL, 5000, 2000],
    ],
  );
  assert.equal(parseSimulateConfig(simConfig(small, IDLE_POOL)).clusterPrefix, 'ic', "the idle pool's clusters are its own");
});

test('the replay sees the hosts the fleet processes name, with the durations their agents sleep and a prediction from their size', () => {
  const hosts = replayHosts(small);
  assert.equal(hosts.length, small.hosts);
  assert.equal(new Set(hosts.map((h) => h.hostId)).size, small.hosts, 'ids unique across processes');
  assert.ok(
    hosts.every((h) => /^c\d\d$/.test(h.cluster)),
    'plan hosts in the plan pool clusters',
  );
  const sorted = hosts.map((h) => h.seconds).sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1] as number;
  assert.ok(Math.abs(median - small.medianSeconds) < 0.1 * small.medianSeconds, `median ${median} s`);
  // Longest-first works on the predictions: they rank the hosts close to their real order.
  const rank = (xs: number[]): number[] => {
    const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(xs.length);
    for (const [k, [, i]] of order.entries()) r[i] = k;
    return r;
  };
  const a = rank(hosts.map((h) => h.seconds));
  const b = rank(hosts.map((h) => h.predictedSeconds ?? 0));
  const n = hosts.length;
  const d2 = a.reduce((sum, x, i) => sum + (x - (b[i] as number)) ** 2, 0);
  const spearman = 1 - (6 * d2) / (n * (n * n - 1));
  assert.ok(spearman > 0.75 && spearman < 0.98, `rank correlation ${spearman.toFixed(3)}: good, not exact`);
});

test('slot holds add up taken to released; a slot still held is counted apart, one never taken ignored', () => {
  const at = (s: number): string => new Date(Date.UTC(2026, 11, 7, 9, 0, s)).toISOString();
  const held = slotHoldSeconds([
    { slots: [{ takenAt: at(0), releasedAt: at(21) }] },
    {
      slots: [
        { takenAt: at(5), releasedAt: at(9) },
        { takenAt: at(30), releasedAt: at(31) },
      ],
    },
    { slots: [{ takenAt: at(40), releasedAt: null }] },
    { slots: [{ takenAt: null, releasedAt: null }] },
    { slots: [] },
  ]);
  assert.deepEqual(held, { seconds: 26, open: 1 });
});
