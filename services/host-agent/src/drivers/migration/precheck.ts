import { type AssessmentReport, assess } from '../../assessment/assessment.ts';
import type { PackageManager } from '../../pm/package-manager.ts';
import type { Profile } from '../../profiles/profile.ts';
import type { StepContext, StepOutcome } from '../driver.ts';

import { fail, type MigrationDriverDeps } from './step-deps.ts';

export async function precheckStep(d: MigrationDriverDeps, ctx: StepContext, profile: Profile, pm: PackageManager): Promise<StepOutcome> {
  const report: AssessmentReport = await assess(d.root, profile, pm, ctx);
  ctx.log(report.summary, report.inhibitors > 0 ? 'stderr' : 'agent');
  if (report.inhibitors > 0) return fail('PRECHECK_INHIBITED', report.summary, report);
  return { ok: true, report };
}
