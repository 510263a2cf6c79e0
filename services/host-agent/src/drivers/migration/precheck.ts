import { type AssessmentReport, assess } from '../../assessment/assessment.ts';
import type { PackageManager } from '../../pm/package-manager.ts';
import type { Profile } from '../../profiles/profile.ts';
import type { StepContext, StepOutcome } from '../driver.ts';

import { fail, type MigrationDriverDeps } from './step-deps.ts';

export async function precheckStep(d: MigrationDriverDeps, ctx: StepContext, profile: Profile, pm: PackageManager): Promise<StepOutcome> {
  const report: AssessmentReport = await assess(d.root, profile, pm, ctx, d.knowledgeRules, d.workloads?.site);
  ctx.log(report.summary, report.inhibitors > 0 ? 'stderr' : 'agent');
  if (report.inhibitors > 0) return fail('PRECHECK_INHIBITED', report.summary, report);
  // The backup step archives the data paths the rules named; the postcheck can compare services.
  await ctx.runData.set('dataPaths', report.dataPaths);
  await ctx.runData.set('enabledServices', report.enabledServices);
  return { ok: true, report };
}
