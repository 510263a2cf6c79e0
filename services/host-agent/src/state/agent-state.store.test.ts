import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordingFs, withTempDir } from '../os/durable-file.testing.ts';
import { continuedRunData, FileAgentStateStore, RUN_DATA_LIMIT, type RunDataByRun, withRunValue } from './agent-state.store.ts';

test('a durable state store fsyncs the file before the rename and the directory after it', async () => {
  await withTempDir(async (dir) => {
    const { fs, calls } = recordingFs(dir);
    const store = new FileAgentStateStore(dir, 'h1', { durable: true, fs });
    await store.save({ hostId: 'h1', recent: [] });
    assert.deepEqual(calls, ['write h1.json.tmp', 'fsync h1.json.tmp', 'rename h1.json.tmp h1.json', 'fsync .']);
    assert.deepEqual(await store.load(), { hostId: 'h1', recent: [] });
  });
});

const fullRunData = (): RunDataByRun => Object.fromEntries(Array.from({ length: RUN_DATA_LIMIT }, (_, i) => [`r${i}`, { n: i }]));

test('run data keeps the most recently written runs: a write makes a run recent again', () => {
  const touched = withRunValue(fullRunData(), 'r0', 'backup', 'b-0');
  const next = withRunValue(touched, 'new', 'n', 1);
  assert.equal(Object.keys(next).length, RUN_DATA_LIMIT);
  assert.deepEqual(next.r0, { n: 0, backup: 'b-0' }, 'the oldest run, written again, is kept');
  assert.equal(next.r1, undefined, 'the least recently written run is dropped');
  assert.deepEqual(next.new, { n: 1 });
});

test('a continued run is copied even when it is the oldest kept, and stays kept beside its copy', () => {
  const runData = fullRunData();
  const next = continuedRunData(runData, 'later', 'r0');
  assert.ok(next);
  assert.deepEqual(next.later, { n: 0 });
  assert.deepEqual(next.r0, { n: 0 }, 'a retry that continues r0 again still finds it');
  assert.equal(next.r1, undefined);
  assert.notEqual(next.later, next.r0, 'a copy, not the same object');
  assert.deepEqual(runData.r1, { n: 1 }, 'the input is not changed');
  // Once: not over data the run already has, nor from a run that is not kept, nor itself.
  assert.equal(continuedRunData({ ...runData, later: { x: 1 } }, 'later', 'r0'), undefined);
  assert.equal(continuedRunData(runData, 'later', 'gone'), undefined);
  assert.equal(continuedRunData(runData, 'r0', 'r0'), undefined);
});
