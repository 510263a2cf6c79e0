// The copy driver on real directories: a tree with hard links, symbolic links, special
// modes and owners is copied, changed, and reverted to exactly what it was.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, chown, link, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { HostRoot } from '../os/host-root.ts';
import { treeDigest } from '../os/tree-digest.ts';
import { CopySnapshotDriver, copyFits } from './copy.driver.ts';
import { failedRootPath } from './root-swap.ts';
import { realCommands, SnapshotMissingError } from './snapshot.driver.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tree(): Promise<HostRoot> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-copy-'));
  dirs.push(dir);
  const root = path.join(dir, 'root');
  await mkdir(path.join(root, 'etc/app'), { recursive: true });
  await mkdir(path.join(root, 'usr/bin'), { recursive: true });
  await writeFile(path.join(root, 'etc/app/app.conf'), 'answer = 42\n');
  await writeFile(path.join(root, 'usr/bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(path.join(root, 'usr/bin/tool'), 0o4755);
  await link(path.join(root, 'usr/bin/tool'), path.join(root, 'usr/bin/tool-alias'));
  await symlink('../etc/app/app.conf', path.join(root, 'usr/conf'));
  await chown(path.join(root, 'etc/app/app.conf'), 1234, 5678);
  return new HostRoot(root);
}

test('a copy is taken, the root changed, and the revert puts back exactly what was copied', async () => {
  const root = await tree();
  const driver = new CopySnapshotDriver(root, realCommands);
  assert.equal((await driver.detect()).usable, true);
  const before = await treeDigest(root.path);
  const ref = await driver.take('r1');
  assert.equal(ref.driver, 'copy');
  await writeFile(root.at('etc/app/app.conf'), 'answer = 43\n');
  await rm(root.at('usr/bin/tool-alias'));
  await writeFile(root.at('usr/bin/new'), 'new\n');
  assert.notEqual(await treeDigest(root.path), before);

  const result = await driver.revert(ref, { resumed: false });
  assert.equal(result.rebootRequired, false);
  assert.equal(await treeDigest(root.path), before);
  // Hard links stay one file: a package's hard-linked binaries are not split in two.
  const [a, b] = await Promise.all([stat(root.at('usr/bin/tool')), stat(root.at('usr/bin/tool-alias'))]);
  assert.equal(a.ino, b.ino);
  assert.ok(!existsSync(failedRootPath(root.path)), 'the failed root is removed');
  assert.ok(!existsSync(ref.id), 'the copy became the root');
  assert.equal(await driver.reverted(ref), true);
});

test('a revert killed after setting the failed root aside finishes when run again', async () => {
  const root = await tree();
  const driver = new CopySnapshotDriver(root, realCommands);
  const before = await treeDigest(root.path);
  const ref = await driver.take('r2');
  await writeFile(root.at('etc/app/app.conf'), 'changed\n');
  // What the first rename of the swap leaves: no root, the failed one beside it.
  await rename(root.path, failedRootPath(root.path));
  await driver.revert(ref, { resumed: true });
  assert.equal(await treeDigest(root.path), before);
  assert.ok(!existsSync(failedRootPath(root.path)));
  // And once more, with everything done: nothing left to do, nothing changed.
  await driver.revert(ref, { resumed: true });
  assert.equal(await treeDigest(root.path), before);
});

test('a copy gone before the revert began leaves the root untouched and says so', async () => {
  const root = await tree();
  const driver = new CopySnapshotDriver(root, realCommands);
  const ref = await driver.take('r3');
  await writeFile(root.at('etc/app/app.conf'), 'changed\n');
  const changed = await treeDigest(root.path);
  await rm(ref.id, { recursive: true });
  await assert.rejects(driver.revert(ref, { resumed: false }), SnapshotMissingError);
  assert.equal(await treeDigest(root.path), changed);
});

test('a root that is a mount point cannot be copied and swapped', async () => {
  const root = new HostRoot('/proc');
  const d = await new CopySnapshotDriver(root, realCommands).detect();
  assert.deepEqual(d, { usable: false, detail: '/proc is a mount point: a copy cannot be swapped in at that path' });
  assert.equal((await new CopySnapshotDriver(new HostRoot('/'), realCommands).detect()).usable, false);
});

test('a copy needs the root’s size and a margin', () => {
  const MiB = 1024 * 1024;
  assert.deepEqual(copyFits(100 * MiB, 1000 * MiB), { fits: true, need: 169 * MiB });
  assert.equal(copyFits(1000 * MiB, 1000 * MiB).fits, false);
});
