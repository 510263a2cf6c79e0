import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { recordingFs, withTempDir } from '../os/durable-file.testing.ts';
import { FileBackupStore } from './backup-store.ts';

test('the local store has the copy on disk (fsync, rename, fsync dir) before it verifies it and writes the record', async () => {
  await withTempDir(async (dir) => {
    const archive = path.join(dir, 'backup.tar');
    await writeFile(archive, 'archive bytes');
    const { fs, calls } = recordingFs(path.join(dir, 'store'));
    const store = new FileBackupStore(path.join(dir, 'store'), { fs });
    const record = await store.put({ hostId: 'h1', runId: 'r1', profile: 'p', paths: ['/etc'], manifestSha256: '' }, archive);
    const id = record.id;
    assert.deepEqual(calls, [
      'fsync ..', // the store's directory was made: its entry in its parent
      `copy ../backup.tar ${id}.tar.tmp`,
      `fsync ${id}.tar.tmp`,
      `rename ${id}.tar.tmp ${id}.tar`,
      'fsync .',
      `read ${id}.tar`,
      `write ${id}.json.tmp`,
      `fsync ${id}.json.tmp`,
      `rename ${id}.json.tmp ${id}.json`,
      'fsync .',
    ]);
    assert.equal(await readFile(path.join(dir, 'store', `${id}.tar`), 'utf8'), 'archive bytes');
    assert.equal((await store.get(id)).record.sha256, record.sha256);
  });
});
