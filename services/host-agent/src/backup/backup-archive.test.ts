import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../os/durable-file.testing.ts';
import { HostRoot } from '../os/host-root.ts';
import { treeDigest } from '../os/tree-digest.ts';
import { type BackupContents, finishInterruptedRestore } from './backup-archive.ts';

/** A root left between the two renames of a swap: no /etc, the replaced one and the staged one beside it. */
async function halfSwapped(dir: string, staged: string): Promise<{ root: HostRoot; contents: BackupContents }> {
  await mkdir(path.join(dir, 'etc.yixing-old'), { recursive: true });
  await writeFile(path.join(dir, 'etc.yixing-old/os-release'), 'VERSION_ID="12"\n');
  await mkdir(path.join(dir, 'etc.yixing-restore'), { recursive: true });
  await writeFile(path.join(dir, 'etc.yixing-restore/os-release'), staged);
  // The backup's digest: of a tree holding os-release 11.
  await mkdir(path.join(dir, 'expected'));
  await writeFile(path.join(dir, 'expected/os-release'), 'VERSION_ID="11"\n');
  const contents = { digests: { '/etc': await treeDigest(path.join(dir, 'expected')) } } as unknown as BackupContents;
  return { root: new HostRoot(dir), contents };
}

test('an interrupted swap whose staged copy is intact is finished: the copy goes in', async () => {
  await withTempDir(async (dir) => {
    const { root, contents } = await halfSwapped(dir, 'VERSION_ID="11"\n');
    const notes = await finishInterruptedRestore(root, contents);
    assert.equal(notes.length, 1);
    assert.equal(await readFile(path.join(dir, 'etc/os-release'), 'utf8'), 'VERSION_ID="11"\n');
    assert.equal(existsSync(path.join(dir, 'etc.yixing-restore')), false);
  });
});

test('an interrupted swap whose staged copy is not intact is undone: the replaced copy goes back', async () => {
  await withTempDir(async (dir) => {
    const { root, contents } = await halfSwapped(dir, 'VERSION_ID="1');
    await finishInterruptedRestore(root, contents);
    assert.equal(await readFile(path.join(dir, 'etc/os-release'), 'utf8'), 'VERSION_ID="12"\n');
    assert.equal(existsSync(path.join(dir, 'etc.yixing-old')), false);
  });
});

test('a root with its paths in place is left alone', async () => {
  await withTempDir(async (dir) => {
    const { root, contents } = await halfSwapped(dir, 'VERSION_ID="11"\n');
    await mkdir(path.join(dir, 'etc'));
    assert.deepEqual(await finishInterruptedRestore(root, contents), []);
    assert.equal(existsSync(path.join(dir, 'etc.yixing-restore')), true);
  });
});
