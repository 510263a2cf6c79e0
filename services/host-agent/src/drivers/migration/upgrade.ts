import type { PackageManager } from '../../pm/package-manager.ts';
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
  const resume = ctx.resumed || ctx.runData.get<boolean>('upgrade-started') === true;
  await ctx.runData.set('upgrade-started', true);
  ctx.log(resume ? 'upgrade interrupted earlier: resuming it' : `upgrading with backup ${backup.id} verified`, 'agent');
  const { transaction } = await pm.upgrade(ctx, resume);
  await ctx.runData.set('upgrade-done', true);
  return { ok: true, report: { backup: backup.id, resumed: resume, transaction } };
}
