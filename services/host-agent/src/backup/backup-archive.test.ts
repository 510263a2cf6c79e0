import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { BACKUP_MANIFEST_MEMBER, BackupManifestError } from '@yixing/common';
import { withTempDir } from '../os/durable-file.testing.ts';
import { HostRoot } from '../os/host-root.ts';
import { treeDigest } from '../os/tree-digest.ts';
import {
  type BackupContents,
  createBackupArchive,
  finishInterruptedRestore,
  RestorePathError,
  readBackupContents,
  restorePaths,
} from './backup-archive.ts';

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

/** A backup of `<dir>/source`'s /etc/cron.d, with the manifest's fields as given. */
async function cronBackup(dir: string, manifest: Partial<BackupContents> = {}): Promise<{ file: string; contents: BackupContents }> {
  const source = new HostRoot(path.join(dir, 'source'));
  await mkdir(source.at('etc/cron.d'), { recursive: true });
  await writeFile(source.at('etc/cron.d/evil'), '* * * * * root /tmp/payload\n');
  const file = path.join(dir, 'backup.tar');
  const contents = await createBackupArchive(
    source,
    ['/etc/cron.d'],
    {
      manifest: [{ name: 'cron', arch: 'amd64', version: '3.0pl1-137', held: false }],
      services: [],
      osRelease: { id: 'debian', versionId: '11' },
    },
    file,
  );
  return { file, contents: { ...contents, ...manifest } };
}

test('a restore through a symlink out of the root is refused before anything changes', async () => {
  await withTempDir(async (dir) => {
    const { file, contents } = await cronBackup(dir);
    // The root's /etc points at a directory outside it (on a real host: the host's own /etc).
    const outside = path.join(dir, 'outside-etc');
    await mkdir(path.join(outside, 'cron.d'), { recursive: true });
    const root = new HostRoot(path.join(dir, 'root'));
    await mkdir(root.path);
    await symlink(outside, root.at('etc'));
    const before = { root: await treeDigest(root.path), outside: await treeDigest(outside) };
    await assert.rejects(
      restorePaths(root, file, contents),
      (e: unknown) =>
        e instanceof RestorePathError && /etc in the root is a symlink; restoring through it could write outside/.test(e.message),
    );
    assert.deepEqual({ root: await treeDigest(root.path), outside: await treeDigest(outside) }, before);
    assert.equal(existsSync(path.join(outside, 'cron.d/evil')), false);
  });
});

test('a restore of a path with `..` is refused before anything changes, whoever built the contents', async () => {
  await withTempDir(async (dir) => {
    const { file, contents } = await cronBackup(dir);
    const root = new HostRoot(path.join(dir, 'root'));
    await mkdir(root.at('etc'), { recursive: true });
    const before = await treeDigest(dir);
    const escaping = { ...contents, digests: { '/../outside/cron.d': contents.digests['/etc/cron.d'] as string } };
    await assert.rejects(
      restorePaths(root, file, escaping),
      (e: unknown) => e instanceof RestorePathError && /has a `\.\.` segment/.test(e.message),
    );
    assert.equal(await treeDigest(dir), before);
  });
});

test('an archive whose manifest escapes the root, names an option as a package or lists none is not read', async () => {
  await withTempDir(async (dir) => {
    for (const [manifest, message] of [
      [{ digests: { '/../x': 'd' } }, /"\/\.\.\/x" has a `\.\.` segment/],
      [{ manifest: [{ name: '--foo', arch: 'amd64', version: '1', held: false }] }, /name "--foo" is not a package name/],
      [{ manifest: [] }, /manifest lists no packages/],
    ] as const) {
      const meta = path.join(dir, 'meta');
      await rm(meta, { recursive: true, force: true });
      await mkdir(path.join(meta, 'yixing'), { recursive: true });
      const { contents } = await cronBackup(dir);
      await writeFile(path.join(meta, BACKUP_MANIFEST_MEMBER), JSON.stringify({ ...contents, ...manifest }));
      const file = path.join(dir, 'forged.tar');
      execFileSync('tar', ['-cf', file, '-C', meta, 'yixing']);
      await assert.rejects(readBackupContents(file), (e: unknown) => e instanceof BackupManifestError && message.test(e.message));
    }
  });
});

test('a restore with a real parent directory puts the path back', async () => {
  await withTempDir(async (dir) => {
    const { file, contents } = await cronBackup(dir);
    const root = new HostRoot(path.join(dir, 'root'));
    await mkdir(root.at('etc/cron.d'), { recursive: true });
    await restorePaths(root, file, contents);
    assert.equal(await readFile(root.at('etc/cron.d/evil'), 'utf8'), '* * * * * root /tmp/payload\n');
  });
});
