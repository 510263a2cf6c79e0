import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostSizeFactor, injectedFailure, simulatedHostSize, stepDurationMs } from './simulate.driver.ts';
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

test('sized hosts: facts and durations scale with one lognormal factor per host, the durations with a noise too', () => {
  const opts = parseSimulateConfig(
    JSON.stringify({
      seed: 's',
      durations: { upgrade: 1000 },
      size: { sigma: 0.5, noiseSigma: 0.3, packages: 800, installedBytes: 2e9, diskUsedBytes: 1e10 },
      state: 'memory',
    }),
  );
  assert.equal(opts.state, 'memory');
  const hosts = Array.from({ length: 4000 }, (_, i) => `h${i}`);
  const factors = hosts.map((h) => hostSizeFactor(opts, h)).sort((a, b) => a - b);
  const median = factors[2000] as number;
  assert.ok(median > 0.95 && median < 1.05, `median factor ${median}`);
  const logs = factors.map(Math.log);
  const sd = Math.sqrt(logs.reduce((a, x) => a + x * x, 0) / logs.length);
  assert.ok(sd > 0.45 && sd < 0.55, `σ of ln(factor) ${sd}`);
  for (const h of hosts.slice(0, 50)) {
    const f = hostSizeFactor(opts, h);
    const size = simulatedHostSize(opts, h);
    assert.equal(size?.packageCount, Math.max(1, Math.round(800 * f)));
    assert.equal(size?.diskUsedBytes, Math.round(1e10 * f));
    const noise = stepDurationMs(opts, h, 'upgrade', 1) / (1000 * f);
    assert.ok(noise > Math.exp(-0.3 * 5) && noise < Math.exp(0.3 * 5), `noise ${noise}`);
  }
  // The noise is the host's own: unlike its size, the facts do not show it.
  const ratios = hosts.map((h) => stepDurationMs(opts, h, 'upgrade', 1) / (1000 * hostSizeFactor(opts, h)));
  assert.ok(new Set(ratios.map((r) => r.toFixed(2))).size > 100, 'the noise varies between hosts');
  assert.equal(simulatedHostSize(parseSimulateConfig('{}'), 'h1'), undefined, 'no sizes without a size spec');
  assert.equal(stepDurationMs(parseSimulateConfig('{"durations":{"upgrade":1000}}'), 'h1', 'upgrade', 1), 1000);
});

test('bad sizes, state and cluster layouts are refused with the field named', () => {
  const size = { sigma: 0.5, noiseSigma: 0.3, packages: 800, installedBytes: 2e9, diskUsedBytes: 1e10 };
  assert.throws(() => parseSimulateConfig(JSON.stringify({ size: { ...size, sigma: -1 } })), /\.size\.sigma: must be a number from 0 to 3/);
  assert.throws(
    () => parseSimulateConfig(JSON.stringify({ size: { ...size, packages: 1.5 } })),
    /\.size\.packages: must be a whole number/,
  );
  const { diskUsedBytes: _, ...noDisk } = size;
  assert.throws(() => parseSimulateConfig(JSON.stringify({ size: noDisk })), /\.size\.diskUsedBytes: is required/);
  assert.throws(() => parseSimulateConfig(JSON.stringify({ size: { ...size, color: 1 } })), /\.size\.color: unknown field/);
  assert.throws(() => parseSimulateConfig('{"state":"disk"}'), /\.state: must be "files" or "memory"/);
  assert.throws(() => parseSimulateConfig('{"clusterSizes":"random"}'), /\.clusterSizes: must be "even" or "uneven"/);
  assert.throws(() => parseSimulateConfig('{"clusterPrefix":"C 1"}'), /\.clusterPrefix: must be 1 to 16 lowercase/);
});
