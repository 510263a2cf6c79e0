// The upgrade step: with the backup vouched for, the rollback strategy is settled and a
// snapshot, when that is the strategy, taken right before the package manager changes
// anything; then the upgrade runs (resumed when it was interrupted).
import { assessRollback } from '../../assessment/rollback-strategy.ts';
import type { PackageManager } from '../../pm/package-manager.ts';
import { RUN_ROLLBACK, type RunRollback, rollbackSummary } from '../../snapshot/run-rollback.ts';
import { snapshotDriver } from '../../snapshot/snapshot-drivers.ts';
import type { StepContext, StepOutcome } from '../driver.ts';

import { type BackupRef, fail, type MigrationDriverDeps, verifiedBackup } from './step-deps.ts';

export async function upgradeStep(d: MigrationDriverDeps, ctx: StepContext, pm: PackageManager): Promise<StepOutcome> {
  let backup: BackupRef | undefined;
  try {
    backup = await verifiedBackup(d, ctx);
  } catch (err) {
    return fail('BACKUP_UNVERIFIED', `the backup does not verify; nothing was changed: ${(err as Error).message}`);
  }
  if (!backup) return fail('BACKUP_MISSING', 'no verified backup for this run; nothing was changed');
  const started = ctx.runData.get<boolean>('upgrade-started') === true;
  // Once the upgrade began, the rollback it was given stays; before, it is settled now.
  if (!started) {
    const settled = await settleRollback(d, ctx);
    if (!settled.ok) return settled;
  }
  const resume = ctx.resumed || started;
  await ctx.runData.set('upgrade-started', true);
  ctx.log(resume ? 'upgrade interrupted earlier: resuming it' : `upgrading with backup ${backup.id} verified`, 'agent');
  const { transaction, lists } = await pm.upgrade(ctx, resume);
  await ctx.runData.set('upgrade-done', true);
  const rollback = rollbackSummary(ctx.runData.get<RunRollback>(RUN_ROLLBACK));
  return { ok: true, report: { backup: backup.id, resumed: resume, transaction, rollback, ...(lists ? { lists } : {}) } };
}

/** Chooses the strategy on the root as it is now and takes the snapshot it needs. */
async function settleRollback(d: MigrationDriverDeps, ctx: StepContext): Promise<StepOutcome> {
  const profile = d.profiles.get(ctx.profile);
  if (!profile) return fail('PROFILE_UNKNOWN', `no profile ${ctx.profile} on this host`);
  const a = await assessRollback(d.root, profile, ctx);
  if (a.chosen === 'none' && a.required !== 'any') {
    const f = a.findings[0];
    return fail('ROLLBACK_UNAVAILABLE', `${f?.title ?? `no ${a.required} rollback`}: ${f?.detail ?? ''}; nothing was changed`, {
      rollback: a,
    });
  }
  if (a.chosen !== 'snapshot' || !a.driver) {
    await ctx.runData.set(RUN_ROLLBACK, { required: a.required, strategy: a.chosen } satisfies RunRollback);
    ctx.log(a.chosen === 'none' ? 'no rollback is possible for this host' : 'rollback strategy: packages', 'agent');
    return { ok: true };
  }
  const record: RunRollback = { required: a.required, strategy: 'snapshot', driver: a.driver, state: 'taking' };
  await ctx.runData.set(RUN_ROLLBACK, record);
  ctx.progress(2, `taking a ${a.driver} snapshot of the root`);
  const t0 = Date.now();
  try {
    const snapshot = await snapshotDriver(a.driver, d.root).take(ctx.runId);
    await ctx.runData.set(RUN_ROLLBACK, { ...record, state: 'taken', snapshot } satisfies RunRollback);
    ctx.log(`rollback strategy: snapshot ${snapshot.id} (${a.driver}), taken in ${((Date.now() - t0) / 1000).toFixed(1)} s`, 'agent');
    return { ok: true };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const why = (err as Error).message;
    if (a.required === 'snapshot') return fail('SNAPSHOT_FAILED', `the required snapshot could not be taken; nothing was changed: ${why}`);
    const packages = a.options.some((o) => o.strategy === 'packages' && o.usable);
    await ctx.runData.set(RUN_ROLLBACK, { required: a.required, strategy: packages ? 'packages' : 'none' } satisfies RunRollback);
    ctx.log(`the ${a.driver} snapshot could not be taken (${why}); rollback strategy: ${packages ? 'packages' : 'none'}`, 'stderr');
    return { ok: true };
  }
}
