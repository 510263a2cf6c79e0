import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dpkgSize, hostSize } from './host-size.ts';

const STATUS = `Package: bash
Status: install ok installed
Installed-Size: 7000
Version: 5.2.15-2

Package: old-lib
Status: deinstall ok config-files
Installed-Size: 500

Package: coreutils
Status: install ok installed
Installed-Size: 18000
`;

test('dpkg status: installed packages counted and their Installed-Size (KiB) summed; removed ones left out', () => {
  assert.deepEqual(dpkgSize(STATUS), { packageCount: 2, installedBytes: 25_000 * 1024 });
  assert.deepEqual(dpkgSize(''), { packageCount: 0, installedBytes: 0 });
});

test('a root: its dpkg status and the disk in use; no dpkg status (an rpm host) counts no packages', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'yx-size-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const bare = await hostSize(root);
  assert.equal(bare.packageCount, 0);
  assert.ok(bare.diskUsedBytes > 0, 'the temporary filesystem has bytes in use');
  await mkdir(path.join(root, 'var/lib/dpkg'), { recursive: true });
  await writeFile(path.join(root, 'var/lib/dpkg/status'), STATUS);
  assert.equal((await hostSize(root)).packageCount, 2);
});
