import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '@yixing/common';
import { benchResult, thisMachine, writeBenchResult } from './results.ts';

test('a result carries the date, the machine and the figures', () => {
  const machine = { cores: 2, memoryGiB: 24, node: 'v24.21.0', cpu: 'x', kernel: '6.1' };
  const r = benchResult('fleet', { ratio: 1.5 }, machine, new Date('2026-12-01T10:00:00Z'));
  assert.deepEqual(r, { name: 'fleet', date: '2026-12-01T10:00:00.000Z', machine, figures: { ratio: 1.5 } });
});

test('this machine is described by what the figures depend on', () => {
  const m = thisMachine();
  assert.equal(m.cores, os.availableParallelism());
  assert.ok(m.memoryGiB > 0);
  assert.equal(m.node, process.version);
});

test('a name that is not a plain file name is refused', () => {
  for (const name of ['../fleet', 'Fleet', '', 'a/b', '.hidden']) {
    assert.throws(() => benchResult(name, {}, thisMachine(), new Date()), ConfigError, name);
  }
});

test('writeBenchResult replaces NAME.json whole and leaves no temporary file', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'yx-bench-results-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const target = path.join(dir, 'results');
  const file = await writeBenchResult('debian-migration', { agentOverBare: 1.12 }, { dir: target });
  assert.equal(file, path.join(target, 'debian-migration.json'));
  await writeBenchResult('debian-migration', { agentOverBare: 1.2 }, { dir: target, date: new Date('2026-12-02T00:00:00Z') });
  const written = JSON.parse(await readFile(file, 'utf8'));
  assert.deepEqual(written.figures, { agentOverBare: 1.2 });
  assert.equal(written.date, '2026-12-02T00:00:00.000Z');
  assert.equal(written.machine.node, process.version);
  assert.deepEqual(await readdir(target), ['debian-migration.json']);
});

test('a refused name writes nothing', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'yx-bench-results-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(writeBenchResult('../escape', { x: 1 }, { dir }), ConfigError);
  assert.deepEqual(await readdir(dir), []);
});
