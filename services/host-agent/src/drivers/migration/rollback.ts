// The rollback step: the root's snapshot reverted when that is the run's strategy, else the
// recorded package set reinstalled and the backed-up paths put back. Either way it is
// proven against the backup: the same release, the same packages, the same configuration.
import { type BackupContents, finishInterruptedRestore, readBackupContents, restorePaths } from '../../backup/backup-archive.ts';
import type { FetchedBackup } from '../../backup/backup-store.ts';
import { treeDigest } from '../../os/tree-digest.ts';
import { diffPackages, type PackageManager } from '../../pm/package-manager.ts';
import { RUN_ROLLBACK, type RunRollback, rollbackSummary } from '../../snapshot/run-rollback.ts';
import { SnapshotMissingError } from '../../snapshot/snapshot.driver.ts';
import { snapshotDriver } from '../../snapshot/snapshot-drivers.ts';
import type { StepContext, StepOutcome } from '../driver.ts';

import { type BackupRef, fail, type MigrationDriverDeps, verifiedBackup } from './step-deps.ts';

/** How the root was put back: reverted to its snapshot, restored by packages, or waiting for a reboot. */
type Restored = 'snapshot' | 'packages' | 'reboot-pending';

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
  const plan = ctx.runData.get<RunRollback>(RUN_ROLLBACK);
  let contents: BackupContents;
  let restored: Restored;
  const notes: string[] = [];
  try {
    contents = await readBackupContents(fetched.file);
    restored = isSnapshotRun(plan, ctx) ? await revertSnapshot(d, ctx, plan, notes) : 'packages';
    if (restored === 'packages') await restorePackages(d, ctx, pm, fetched.file, contents, backup.id);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return fail('ROLLBACK_UNVERIFIED', `critical: rollback did not complete: ${(err as Error).message}`, {
      rollback: rollbackSummary(plan),
      notes,
    });
  } finally {
    await fetched.release();
  }
  const strategy = { ...rollbackSummary(plan), ...(restored === 'packages' ? { strategy: 'packages' as const } : {}) };
  if (restored === 'reboot-pending')
    return fail(
      'ROLLBACK_REBOOT_PENDING',
      'the root is reverted on the next boot: reboot the host, then run the rollback again to verify it',
      { rollback: strategy, notes },
      true,
    );
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
    // The package restore checked each path as it put it back; a reverted snapshot is checked here.
    ...(restored === 'snapshot' ? await pathProblems(d, contents) : []),
  ];
  const report = {
    backup: backup.id,
    rollback: strategy,
    osRelease: { id: os.id, versionId: os.versionId },
    packages: contents.manifest.length,
    notes,
    problems,
  };
  if (problems.length > 0) return fail('ROLLBACK_UNVERIFIED', `critical: rollback could not be verified: ${problems.join('; ')}`, report);
  ctx.log(
    `rollback (${strategy.strategy}) verified: ${os.id} ${os.versionId}, ${contents.manifest.length} packages as recorded, configuration as backed up`,
    'agent',
  );
  return { ok: true, report };
}

function isSnapshotRun(plan: RunRollback | undefined, ctx: StepContext): plan is RunRollback {
  // A snapshot only counts once whole and only matters once the upgrade began.
  return (
    plan?.strategy === 'snapshot' && plan.state === 'taken' && plan.snapshot !== undefined && ctx.runData.get('upgrade-started') === true
  );
}

async function revertSnapshot(d: MigrationDriverDeps, ctx: StepContext, plan: RunRollback, notes: string[]): Promise<Restored> {
  const ref = plan.snapshot as NonNullable<RunRollback['snapshot']>;
  const driver = snapshotDriver(ref.driver, d.root);
  if (plan.revert === 'reboot-pending') {
    if (await driver.reverted(ref)) return 'snapshot';
    notes.push(`the running root is not yet the one reverted to ${ref.id}`);
    return 'reboot-pending';
  }
  ctx.progress(10, `reverting the root to snapshot ${ref.id} (${ref.driver})`);
  const resumed = plan.revert === 'started';
  await ctx.runData.set(RUN_ROLLBACK, { ...plan, revert: 'started' } satisfies RunRollback);
  try {
    const result = await driver.revert(ref, { resumed });
    for (const n of result.notes) {
      notes.push(n);
      ctx.log(n, 'agent');
    }
    if (!result.rebootRequired) return 'snapshot';
    await ctx.runData.set(RUN_ROLLBACK, { ...plan, revert: 'reboot-pending' } satisfies RunRollback);
    return 'reboot-pending';
  } catch (err) {
    // Gone before anything was reverted: the root is as the upgrade left it, and the
    // package restore can still put it back when the run allows that strategy.
    if (!(err instanceof SnapshotMissingError) || plan.required === 'snapshot') throw err;
    const note = `${err.message}: restoring by packages instead`;
    notes.push(note);
    ctx.log(note, 'stderr');
    await ctx.runData.set(RUN_ROLLBACK, { ...plan, strategy: 'packages' } satisfies RunRollback);
    return 'packages';
  }
}

async function restorePackages(
  d: MigrationDriverDeps,
  ctx: StepContext,
  pm: PackageManager,
  file: string,
  contents: BackupContents,
  backupId: string,
): Promise<void> {
  // A restore this rollback began before a crash may have left the root without /etc.
  for (const note of await finishInterruptedRestore(d.root, contents, d.fs)) ctx.log(note, 'agent');
  ctx.progress(10, `restoring ${contents.manifest.length} packages from backup ${backupId}`);
  await pm.restore(contents.manifest, ctx);
  ctx.progress(70, 'packages restored; restoring configuration');
  await restorePaths(d.root, file, contents, d.fs);
}

/** Each backed-up path against the digest the backup recorded. */
async function pathProblems(d: MigrationDriverDeps, contents: BackupContents): Promise<string[]> {
  const out: string[] = [];
  for (const [p, digest] of Object.entries(contents.digests)) {
    const now = d.root.exists(p) ? await treeDigest(d.root.at(p)) : 'missing';
    if (now !== digest) out.push(`${p} differs from the backup (digest ${now}, backed up ${digest})`);
  }
  return out;
}
