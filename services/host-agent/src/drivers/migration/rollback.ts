import { type BackupContents, finishInterruptedRestore, readBackupContents, restorePaths } from '../../backup/backup-archive.ts';
import type { FetchedBackup } from '../../backup/backup-store.ts';
import { diffPackages, type PackageManager } from '../../pm/package-manager.ts';
import type { StepContext, StepOutcome } from '../driver.ts';

import { type BackupRef, fail, type MigrationDriverDeps, verifiedBackup } from './step-deps.ts';

export async function rollbackStep(d: MigrationDriverDeps, ctx: StepContext, pm: PackageManager): Promise<StepOutcome> {
  const root = d.root;
  let backup: BackupRef | undefined;
  try {
    backup = await verifiedBackup(d, ctx);
  } catch (err) {
    return fail('ROLLBACK_UNVERIFIED', `critical: the backup cannot be used: ${(err as Error).message}`);
  }
  if (!backup) {
    if (ctx.runData.get('upgrade-started'))
      return fail('ROLLBACK_UNVERIFIED', 'critical: the upgrade started but there is no backup to restore');
    return { ok: true, report: { note: 'nothing was changed; nothing to restore' } };
  }
  let fetched: FetchedBackup;
  try {
    fetched = await d.store.get(backup.id);
  } catch (err) {
    return fail('ROLLBACK_UNVERIFIED', `critical: the backup cannot be fetched: ${(err as Error).message}`);
  }
  let contents: BackupContents;
  try {
    contents = await readBackupContents(fetched.file);
    // A restore this rollback began before a crash may have left the root without /etc.
    for (const note of await finishInterruptedRestore(root, contents, d.fs)) ctx.log(note, 'agent');
    ctx.progress(10, `restoring ${contents.manifest.length} packages from backup ${backup.id}`);
    await pm.restore(contents.manifest, ctx);
    ctx.progress(70, 'packages restored; restoring configuration');
    await restorePaths(root, fetched.file, contents, d.fs);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return fail('ROLLBACK_UNVERIFIED', `critical: rollback did not complete: ${(err as Error).message}`);
  } finally {
    await fetched.release();
  }
  // Prove it: the same release, the same packages, the same configuration.
  const os = await root.osRelease();
  const diff = diffPackages(contents.manifest, await pm.installed());
  const problems = [
    ...(os.id !== contents.osRelease.id || os.versionId !== contents.osRelease.versionId
      ? [`os-release says ${os.id} ${os.versionId}, the backup was of ${contents.osRelease.id} ${contents.osRelease.versionId}`]
      : []),
    ...(diff.missing.length ? [`missing packages: ${diff.missing.join(' ')}`] : []),
    ...(diff.extra.length ? [`extra packages: ${diff.extra.join(' ')}`] : []),
    ...(diff.changed.length ? [`packages at other versions: ${diff.changed.join(', ')}`] : []),
  ];
  const report = { backup: backup.id, osRelease: { id: os.id, versionId: os.versionId }, packages: contents.manifest.length, problems };
  if (problems.length > 0) return fail('ROLLBACK_UNVERIFIED', `critical: rollback could not be verified: ${problems.join('; ')}`, report);
  ctx.log(
    `rollback verified: ${os.id} ${os.versionId}, ${contents.manifest.length} packages as recorded, configuration as backed up`,
    'agent',
  );
  return { ok: true, report };
}
