import assert from 'node:assert/strict';
import { test } from 'node:test';
import { injectedFailure, stepDurationMs } from './simulate.driver.ts';
import { parseSimulateConfig } from './simulate-config.ts';

test('a rehearsal config is parsed, with defaults for what it leaves out', () => {
  const opts = parseSimulateConfig('{"seed":"s","durations":{"upgrade":[100,200],"reboot":50},"failures":[{"step":"upgrade","rate":0.5}]}');
  assert.deepEqual(opts.durations.upgrade, { minMs: 100, maxMs: 200 });
  assert.deepEqual(opts.durations.reboot, { minMs: 50, maxMs: 50 });
  assert.ok(opts.durations.precheck, 'unmentioned steps keep their default duration');
  const d = stepDurationMs(opts, 'h1', 'upgrade', 1);
  assert.ok(d >= 100 && d <= 200);
  assert.equal(stepDurationMs(opts, 'h1', 'upgrade', 1), d, 'deterministic');
});

test('injected failures are deterministic and close to their rate', () => {
  const opts = parseSimulateConfig('{"seed":"s","failures":[{"step":"upgrade","rate":0.25},{"hosts":["bad"],"step":"precheck"}]}');
  const failing = Array.from({ length: 4000 }, (_, i) => injectedFailure(opts, `h${i}`, 'upgrade', 1)).filter(Boolean).length;
  assert.ok(failing > 900 && failing < 1100, `${failing} of 4000 failed at rate 0.25`);
  assert.ok(injectedFailure(opts, 'bad', 'precheck', 1));
  assert.equal(injectedFailure(opts, 'good', 'precheck', 1), undefined);
  assert.equal(injectedFailure(opts, 'h1', 'backup', 1), undefined);
});

test('bad configs are refused with the field named', () => {
  assert.throws(() => parseSimulateConfig('{"durations":{"upgrde":5}}'), /\.durations\.upgrde: unknown step/);
  assert.throws(() => parseSimulateConfig('{"failures":[{"rate":2}]}'), /\.failures\[0\]\.rate: must be a number from 0 to 1/);
  assert.throws(() => parseSimulateConfig('{"failures":[{"mode":"explode"}]}'), /\.failures\[0\]\.mode/);
  assert.throws(() => parseSimulateConfig('{"durations":{"upgrade":[5,1]}}'), /min 5 is above max 1/);
  assert.throws(() => parseSimulateConfig('{"color":1}'), /\.color: unknown field/);
  assert.throws(() => parseSimulateConfig('not json'), /not JSON/);
});
