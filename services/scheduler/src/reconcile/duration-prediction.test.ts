import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PREDICTION_MODEL, DurationLearning, kindOf, predictSeconds, sizeClass } from './duration-prediction.ts';

const MiB = 1024 * 1024;
const model = { ...DEFAULT_PREDICTION_MODEL, fixedSeconds: 100, secondsPerPackage: 1, bytesPerSecond: MiB, backupBytesPerSecond: 10 * MiB };

test('from the host size: fixed part, packages replaced, bytes downloaded and the backup of the disk in use', () => {
  const size = { packages: 1000, installedBytes: 1000 * MiB, diskUsedBytes: 500 * MiB };
  // 100 + 1000 × 0.9 × 1 + 1000 MiB × 0.35 ÷ 1 MiB/s + 500 MiB ÷ 10 MiB/s
  assert.equal(predictSeconds({ size }, model), 100 + 900 + 350 + 50);
});

test('an assessment preview wins over the size guess; the disk still counts for the backup', () => {
  const size = { packages: 1000, installedBytes: 1000 * MiB, diskUsedBytes: 500 * MiB };
  const preview = { downloadBytes: 200 * MiB, installBytes: 0, upgrades: 300, installs: 20 };
  assert.equal(predictSeconds({ size, preview }, model), 100 + 200 + 320 + 50);
});

test('nothing known of a host: no prediction', () => {
  assert.equal(predictSeconds({}), undefined);
  assert.equal(predictSeconds({ size: { packages: 0, installedBytes: 0, diskUsedBytes: 0 } }), undefined);
});

test('size classes double: predictions within a factor of two share a kind', () => {
  assert.deepEqual([30, 60, 80, 120, 240, 3600].map(sizeClass), [0, 0, 0, 1, 2, 6]);
  assert.equal(kindOf('debian-11-to-12', 120), 'debian-11-to-12/1');
  assert.equal(kindOf('debian-11-to-12', undefined), 'debian-11-to-12/?');
});

test('learning: a kind uses its own median ratio from three finished hosts, the plan overall before', () => {
  const l = new DurationLearning();
  assert.equal(l.corrected('a', 100), 100, 'nothing learnt: as predicted');
  l.learn('a', 100, 200);
  l.learn('a', 100, 200);
  assert.equal(l.corrected('a', 100), 200, 'two samples: the overall ratio');
  assert.equal(l.corrected('b', 100), 200, 'a kind never seen: the overall ratio');
  l.learn('b', 100, 100);
  l.learn('b', 100, 100);
  l.learn('b', 100, 100);
  assert.equal(l.corrected('b', 50), 50, "b's own ratio, 1");
});

test('learning: the median, so one host held for an hour does not move its kind', () => {
  const l = new DurationLearning();
  for (const actual of [110, 3600, 90, 100, 105]) l.learn('a', 100, actual);
  assert.equal(l.corrected('a', 100), 105);
});

test('learning: hosts nothing was predicted for learn their kind’s slot time; before, they count as 0', () => {
  const l = new DurationLearning();
  assert.equal(l.corrected('?', undefined), 0);
  for (const actual of [300, 500, 400]) l.learn('?', undefined, actual);
  assert.equal(l.corrected('?', undefined), 400);
  assert.equal(l.corrected('a', 100), 100, 'ratios of predicted kinds are not mixed with slot times');
});
