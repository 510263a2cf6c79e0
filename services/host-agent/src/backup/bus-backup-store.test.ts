import assert from 'node:assert/strict';
import childProcess from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { BACKUP_MANIFEST_MEMBER, BackupState, type Bus, readTarMember } from '@yixing/common';
import { withTempDir } from '../os/durable-file.testing.ts';
import { HostRoot } from '../os/host-root.ts';
import { createBackupArchive } from './backup-archive.ts';
import { BusBackupStore } from './bus-backup-store.ts';

const BACKUP_ID = 'b-20261207-0123456789ab';

/** A backup service that gives a slot, takes every piece and verifies the commit; what the slot request declared is kept. */
function acceptingBus(): { bus: Bus; declared: { manifestSha256?: string } } {
  const declared: { manifestSha256?: string } = {};
  const bus = {
    async request(name: string, init: { manifestSha256?: string }) {
      if (name === 'backupSlotRequest') {
        declared.manifestSha256 = init.manifestSha256;
        return { accepted: true, backupId: BACKUP_ID, reason: '', retryable: false };
      }
      if (name === 'backupCommit') return { state: BackupState.VERIFIED, reason: '', sha256: '' };
      throw new Error(`unexpected request ${name}`);
    },
    async publishDurable() {},
  };
  return { bus: bus as unknown as Bus, declared };
}

/** Counts the reads of `file` (streams opened on it, tar run over it) while `f` runs. */
async function readsOf(file: string, f: () => Promise<unknown>): Promise<number> {
  const open = fs.createReadStream;
  const spawn = childProcess.spawn;
  let reads = 0;
  fs.createReadStream = ((p: fs.PathLike, ...rest: unknown[]) => {
    if (p === file) reads++;
    return (open as (...a: unknown[]) => fs.ReadStream)(p, ...rest);
  }) as typeof fs.createReadStream;
  childProcess.spawn = ((cmd: string, args: readonly string[], ...rest: unknown[]) => {
    if (args?.includes(file)) reads++;
    return (spawn as (...a: unknown[]) => childProcess.ChildProcess)(cmd, args, ...rest);
  }) as typeof childProcess.spawn;
  syncBuiltinESMExports();
  try {
    await f();
  } finally {
    fs.createReadStream = open;
    childProcess.spawn = spawn;
    syncBuiltinESMExports();
  }
  return reads;
}

async function archive(dir: string): Promise<{ file: string; manifestSha256: string }> {
  const source = new HostRoot(path.join(dir, 'source'));
  await mkdir(source.at('etc'), { recursive: true });
  await writeFile(source.at('etc/hostname'), 'web-1\n');
  const file = path.join(dir, 'backup.tar');
  const made = await createBackupArchive(
    source,
    ['/etc'],
    {
      manifest: [{ name: 'base-files', arch: 'amd64', version: '11.1', held: false }],
      services: [],
      osRelease: { id: 'debian', versionId: '11' },
    },
    file,
  );
  return { file, manifestSha256: made.manifestSha256 };
}

const meta = (manifestSha256: string) => ({ hostId: 'h1', runId: 'r1', profile: 'p', paths: ['/etc'], manifestSha256 });

test("the archive's maker returns the SHA-256 of the manifest member it wrote", async () => {
  await withTempDir(async (dir) => {
    const { file, manifestSha256 } = await archive(dir);
    const member = (await readTarMember(file, BACKUP_MANIFEST_MEMBER)) as Buffer;
    assert.equal(manifestSha256, createHash('sha256').update(member).digest('hex'));
  });
});

test("a backup given its manifest's digest reads the archive twice (hash, upload), not a third time for the manifest", async () => {
  await withTempDir(async (dir) => {
    const { file, manifestSha256 } = await archive(dir);
    const { bus, declared } = acceptingBus();
    const store = new BusBackupStore({ bus, hostId: 'h1' });
    const reads = await readsOf(file, () => store.put(meta(manifestSha256), file));
    assert.equal(reads, 2);
    assert.equal(declared.manifestSha256, manifestSha256);
  });
});

test("a backup not given its manifest's digest reads the manifest from the archive and declares its digest", async () => {
  await withTempDir(async (dir) => {
    const { file, manifestSha256 } = await archive(dir);
    const { bus, declared } = acceptingBus();
    const store = new BusBackupStore({ bus, hostId: 'h1' });
    const reads = await readsOf(file, () => store.put(meta(''), file));
    assert.equal(reads, 3);
    assert.equal(declared.manifestSha256, manifestSha256);
  });
});
