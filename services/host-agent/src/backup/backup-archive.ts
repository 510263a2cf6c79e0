// The backup of a root before it changes: its configuration paths as they are (owners,
// modes, links), the package manifest and the running services, in one tar archive.
// Restoring puts the paths back exactly: what the archive lacks is removed.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BACKUP_MANIFEST_MEMBER, type BackupManifest, parseBackupManifest, readTarMember } from '@yixing/common';
import { mustRun } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import { treeDigest } from '../os/tree-digest.ts';

/** What the archive's manifest says: the contract with the backup service. */
export type BackupContents = BackupManifest;

const rel = (p: string): string => p.replace(/^\/+/, '');

/** Writes the archive to `file`; returns what it describes. */
export async function createBackupArchive(
  root: HostRoot,
  paths: string[],
  contents: Omit<BackupContents, 'digests'>,
  file: string,
): Promise<BackupContents> {
  const meta = await mkdtemp(path.join(tmpdir(), 'yx-backup-'));
  try {
    const digests: Record<string, string> = {};
    for (const p of paths) digests[p] = await treeDigest(root.at(p));
    const full: BackupContents = { ...contents, digests };
    await mkdir(path.join(meta, 'yixing'));
    await writeFile(path.join(meta, 'yixing', 'backup.json'), JSON.stringify(full, null, 2));
    await mustRun(['tar', '--numeric-owner', '--xattrs', '--acls', '-cpf', file, '-C', root.path, ...paths.map(rel), '-C', meta, 'yixing']);
    return full;
  } finally {
    await rm(meta, { recursive: true, force: true });
  }
}

export async function readBackupContents(file: string): Promise<BackupContents> {
  const bytes = await readTarMember(file, BACKUP_MANIFEST_MEMBER);
  if (!bytes) throw new Error(`the backup archive has no ${BACKUP_MANIFEST_MEMBER}`);
  return parseBackupManifest(bytes);
}

/**
 * Puts the archived paths back exactly as archived: extracted beside the root first, then
 * swapped in, then checked against the digests recorded at backup time.
 */
export async function restorePaths(root: HostRoot, file: string, contents: BackupContents): Promise<void> {
  for (const p of Object.keys(contents.digests)) {
    const target = root.at(p);
    const staging = `${target}.yixing-restore`;
    const old = `${target}.yixing-old`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const depth = rel(p).split('/').length;
    await mustRun(['tar', '--numeric-owner', '--xattrs', '--acls', '-xpf', file, '-C', staging, `--strip-components=${depth}`, rel(p)]);
    const staged = await treeDigest(staging);
    if (staged !== contents.digests[p]) throw new Error(`backup of ${p} does not extract to what was archived`);
    await rm(old, { recursive: true, force: true });
    await mustRun(['mv', '-T', target, old]);
    await mustRun(['mv', '-T', staging, target]);
    // The top directory itself: owner and mode as archived.
    await mustRun(['tar', '--numeric-owner', '-xpf', file, '-C', root.path, '--no-recursion', rel(p)]);
    await rm(old, { recursive: true, force: true });
    const now = await treeDigest(target);
    if (now !== contents.digests[p])
      throw new Error(`${p} after restore differs from the backup (digest ${now}, archived ${contents.digests[p]})`);
  }
}
