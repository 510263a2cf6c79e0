import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { recordingFs, withTempDir } from './durable-file.testing.ts';
import { fsyncDir, fsyncTree, mkdirDurable, writeFileAtomic } from './durable-file.ts';

test('a durable write is: write a temp file, fsync it, rename it over the file, fsync the directory', async () => {
  await withTempDir(async (dir) => {
    const { fs, calls } = recordingFs(dir);
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, '{"a":1}', { durable: true, fs });
    assert.deepEqual(calls, ['write state.json.tmp', 'fsync state.json.tmp', 'rename state.json.tmp state.json', 'fsync .']);
    assert.equal(await readFile(file, 'utf8'), '{"a":1}');
    assert.deepEqual(await readdir(dir), ['state.json'], 'no temp file left');
  });
});

test('a write that needs only to survive a process crash is atomic without fsync', async () => {
  await withTempDir(async (dir) => {
    const { fs, calls } = recordingFs(dir);
    await writeFileAtomic(path.join(dir, 'state.json'), 'x', { durable: false, fs });
    assert.deepEqual(calls, ['write state.json.tmp', 'rename state.json.tmp state.json']);
  });
});

test('fsyncDir syncs the directory itself', async () => {
  await withTempDir(async (dir) => {
    const { fs, calls } = recordingFs(dir);
    await fsyncDir(dir, fs);
    assert.deepEqual(calls, ['fsync .']);
  });
});

test('mkdirDurable fsyncs the parent of every directory it made, and nothing when they all exist', async () => {
  await withTempDir(async (dir) => {
    const { fs, calls } = recordingFs(dir);
    await mkdirDurable(path.join(dir, 'a/b/c'), fs);
    assert.deepEqual(calls, ['fsync a/b', 'fsync a', 'fsync .']);
    calls.length = 0;
    await mkdirDurable(path.join(dir, 'a/b/c'), fs);
    assert.deepEqual(calls, []);
  });
});

test('fsyncTree syncs every file and directory, children before their directory, and not links', async () => {
  await withTempDir(async (dir) => {
    await mkdir(path.join(dir, 'etc/ssl'), { recursive: true });
    await writeFile(path.join(dir, 'etc/hostname'), 'h\n');
    await writeFile(path.join(dir, 'etc/ssl/key.pem'), 'k\n');
    await symlink('/nowhere', path.join(dir, 'etc/localtime'));
    const { fs, calls } = recordingFs(dir);
    await fsyncTree(path.join(dir, 'etc'), fs);
    assert.deepEqual(calls, ['fsync etc/hostname', 'fsync etc/ssl/key.pem', 'fsync etc/ssl', 'fsync etc']);
  });
});
