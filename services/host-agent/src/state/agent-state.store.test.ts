import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordingFs, withTempDir } from '../os/durable-file.testing.ts';
import { FileAgentStateStore } from './agent-state.store.ts';

test('a durable state store fsyncs the file before the rename and the directory after it', async () => {
  await withTempDir(async (dir) => {
    const { fs, calls } = recordingFs(dir);
    const store = new FileAgentStateStore(dir, 'h1', { durable: true, fs });
    await store.save({ hostId: 'h1', recent: [] });
    assert.deepEqual(calls, ['write h1.json.tmp', 'fsync h1.json.tmp', 'rename h1.json.tmp h1.json', 'fsync .']);
    assert.deepEqual(await store.load(), { hostId: 'h1', recent: [] });
  });
});
