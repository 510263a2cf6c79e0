// The backup of a root before it changes: its configuration paths as they are (owners,
// modes, links), the package manifest and the running services, in one tar archive.
// Restoring puts the paths back exactly: what the archive lacks is removed.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BACKUP_MANIFEST_MEMBER,
  type BackupManifest,
  manifestPathProblem,
  parseBackupManifest,
  readTarMember,
  YxError,
} from '@yixing/common/base';
import { mustRun } from '../os/command.ts';
import { type DurableFs, fsyncDir, fsyncTree, nodeFs } from '../os/durable-file.ts';
import type { HostRoot } from '../os/host-root.ts';
import { treeDigest } from '../os/tree-digest.ts';
import { BackupVerificationError } from './backup-store.ts';

/** What the archive's manifest says: the contract with the backup service. */
export type BackupContents = BackupManifest;

const rel = (p: string): string => p.replace(/^\/+/, '');

/**
 * Writes the archive to `file`; returns what it describes and the SHA-256 of its manifest
 * member as written (so the store need not read the archive again to learn it).
 */
export async function createBackupArchive(
  root: HostRoot,
  paths: string[],
  contents: Omit<BackupContents, 'digests'>,
  file: string,
): Promise<BackupContents & { manifestSha256: string }> {
  const meta = await mkdtemp(path.join(tmpdir(), 'yx-backup-'));
  try {
    const digests: Record<string, string> = {};
    for (const p of paths) digests[p] = await treeDigest(root.at(p));
    const full: BackupContents = { ...contents, digests };
    await mkdir(path.join(meta, 'yixing'));
    const manifest = Buffer.from(JSON.stringify(full, null, 2));
    await writeFile(path.join(meta, BACKUP_MANIFEST_MEMBER), manifest);
    await mustRun(['tar', '--numeric-owner', '--xattrs', '--acls', '-cpf', file, '-C', root.path, ...paths.map(rel), '-C', meta, 'yixing']);
    return { ...full, manifestSha256: createHash('sha256').update(manifest).digest('hex') };
  } finally {
    await rm(meta, { recursive: true, force: true });
  }
}

/** A restored path is not what was backed up: the rollback cannot be called verified. */
export class RestoreUnverifiedError extends YxError {
  readonly code = 'ROLLBACK_UNVERIFIED';
  readonly retryable = false;
}

/** A backed-up path that cannot be restored without writing outside the root. */
export class RestorePathError extends YxError {
  readonly code = 'RESTORE_PATH_UNSAFE';
  readonly retryable = false;
}

/**
 * Refuses (RestorePathError) a path that is not a normalized absolute path, or whose
 * parent directories inside the root are not all real directories: a symlinked `<root>/etc`
 * would make tar and the renames write wherever it points (the host's own /etc when the
 * root is a directory). Each component is checked with lstat and never followed; one that
 * does not exist yet is created by the restore as a directory. The path itself may be a
 * symlink: the swap renames the link, it does not write through it.
 */
export async function assertRestorable(root: HostRoot, p: string): Promise<void> {
  const problem = manifestPathProblem(p);
  if (problem) throw new RestorePathError(`backed-up path ${JSON.stringify(p)} ${problem}`, { details: { path: p } });
  const segments = p.slice(1).split('/');
  let at = root.path;
  for (const segment of segments.slice(0, -1)) {
    at = path.join(at, segment);
    const st = await lstat(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) return;
    if (!st.isDirectory())
      throw new RestorePathError(
        `backed-up path ${p}: ${path.relative(root.path, at) || '.'} in the root is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; restoring through it could write outside ${root.path}`,
        { details: { path: p, component: at } },
      );
  }
}

export async function readBackupContents(file: string): Promise<BackupContents> {
  const bytes = await readTarMember(file, BACKUP_MANIFEST_MEMBER);
  if (!bytes) throw new BackupVerificationError(`the backup archive has no ${BACKUP_MANIFEST_MEMBER}`);
  return parseBackupManifest(bytes);
}

/** Where restorePaths stages a path and where it moves the path being replaced. */
const swapPaths = (root: HostRoot, p: string) => {
  const target = root.at(p);
  return { target, staging: `${target}.yixing-restore`, old: `${target}.yixing-old`, parent: path.dirname(target) };
};

/**
 * Finishes what a crash between the two renames of restorePaths' swap left: the path is
 * gone, moved to `.yixing-old`, with the verified copy in `.yixing-restore`. The staged copy
 * goes in when it is intact, else the old one goes back (and the restore is done again).
 * Run before anything needs the root (a package manager needs /etc); returns what it did.
 */
export async function finishInterruptedRestore(root: HostRoot, contents: BackupContents, fs: DurableFs = nodeFs): Promise<string[]> {
  for (const p of Object.keys(contents.digests)) await assertRestorable(root, p);
  const done: string[] = [];
  for (const p of Object.keys(contents.digests)) {
    const { target, staging, old, parent } = swapPaths(root, p);
    if (existsSync(target)) continue;
    if (existsSync(staging) && (await treeDigest(staging)) === contents.digests[p]) {
      await fs.rename(staging, target);
      done.push(`${p}: the interrupted restore was finished (the backup's copy put in place)`);
    } else if (existsSync(old)) {
      await fs.rename(old, target);
      done.push(`${p}: the interrupted restore was undone (the replaced copy put back)`);
    } else continue;
    await fsyncDir(parent, fs);
  }
  return done;
}

/**
 * Puts the archived paths back exactly as archived: extracted beside the root first and
 * made durable, then swapped in, then checked against the digests recorded at backup time.
 * The swap is two renames (an atomic exchange, renameat2, is missing from the kernels and
 * tools of the hosts migrated, CentOS 7 among them): a crash between them is finished by
 * finishInterruptedRestore, which this runs first, so a restore run again always completes.
 */
export async function restorePaths(root: HostRoot, file: string, contents: BackupContents, fs: DurableFs = nodeFs): Promise<void> {
  // Every path is checked before any is touched (finishInterruptedRestore checks them all first).
  await finishInterruptedRestore(root, contents, fs);
  for (const p of Object.keys(contents.digests)) {
    // Again: a path restored before this one may have put a symlink on its way.
    await assertRestorable(root, p);
    const { target, staging, old, parent } = swapPaths(root, p);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const depth = rel(p).split('/').length;
    await mustRun(['tar', '--numeric-owner', '--xattrs', '--acls', '-xpf', file, '-C', staging, `--strip-components=${depth}`, rel(p)]);
    const staged = await treeDigest(staging);
    if (staged !== contents.digests[p]) throw new RestoreUnverifiedError(`backup of ${p} does not extract to what was archived`);
    // On disk before it becomes the root's: after a power cut the swap must not have put
    // in place files whose bytes never reached the disk.
    await fsyncTree(staging, fs);
    await rm(old, { recursive: true, force: true });
    if (existsSync(target)) {
      await fs.rename(target, old);
      await fsyncDir(parent, fs);
    }
    await fs.rename(staging, target);
    await fsyncDir(parent, fs);
    // The top directory itself: owner and mode as archived.
    await mustRun(['tar', '--numeric-owner', '-xpf', file, '-C', root.path, '--no-recursion', rel(p)]);
    await fsyncDir(target, fs);
    await rm(old, { recursive: true, force: true });
    const now = await treeDigest(target);
    if (now !== contents.digests[p])
      throw new RestoreUnverifiedError(`${p} after restore differs from the backup (digest ${now}, archived ${contents.digests[p]})`);
  }
}
