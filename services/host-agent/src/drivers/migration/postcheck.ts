import { runningServices } from '../../assessment/assessment.ts';
import { enabledServices } from '../../knowledge/facts.ts';
import type { PackageManager } from '../../pm/package-manager.ts';
import type { Profile } from '../../profiles/profile.ts';
import { workloadProblems } from '../../workloads/workload-steps.ts';
import type { StepContext, StepOutcome } from '../driver.ts';

import { fail, type MigrationDriverDeps } from './step-deps.ts';

/**
 * Services the precheck found enabled that the migrated root no longer enables: a package
 * the upgrade replaced or removed took its unit's links, and the service would not start
 * at the next boot. Pure.
 */
export function servicesNoLongerEnabled(before: readonly string[], now: readonly string[]): string[] {
  const enabled = new Set(now);
  return before.filter((s) => !enabled.has(s));
}

export async function postcheckStep(d: MigrationDriverDeps, ctx: StepContext, profile: Profile, pm: PackageManager): Promise<StepOutcome> {
  const root = d.root;
  const problems: string[] = [];
  const os = await root.osRelease();
  const reached =
    os.id === profile.target.id && (os.versionId === profile.target.version || os.versionId.startsWith(`${profile.target.version}.`));
  if (!reached && !ctx.dryRun)
    problems.push(`os-release says ${os.id} ${os.versionId}, expected ${profile.target.id} ${profile.target.version}`);
  const before = ctx.runData.get<string[]>('services') ?? [];
  const now = await runningServices(root);
  if (now !== null) {
    for (const s of new Set([...before, ...profile.services])) if (!now.includes(s)) problems.push(`service ${s} is not running`);
  } else {
    ctx.log('no service manager in this root: services not checked', 'agent');
  }
  const enabledBefore = ctx.runData.get<string[]>('enabledServices') ?? [];
  const enabledNow = await enabledServices(root);
  for (const s of servicesNoLongerEnabled(enabledBefore, enabledNow))
    problems.push(`service ${s} was enabled before the migration and is not enabled now`);
  const installed = new Set((await pm.installed()).map((p) => p.name));
  for (const check of profile.checks) {
    if (check.kind === 'file-exists' && !root.exists(check.path)) problems.push(`check ${check.id}: ${check.path} does not exist`);
    if (check.kind === 'package-installed' && !installed.has(check.name))
      problems.push(`check ${check.id}: package ${check.name} is not installed`);
    if (check.kind === 'command') {
      const r = await root.exec(check.argv, { signal: ctx.signal });
      if (r.code !== 0) problems.push(`check ${check.id}: ${check.argv.join(' ')} exited with ${r.code}`);
    }
  }
  // What drain took away runs again (undrain ran before this step, also after a rollback).
  const workloadsNotBack = await workloadProblems(ctx, d.workloads ?? {});
  problems.push(...workloadsNotBack);
  const report = {
    osRelease: { id: os.id, versionId: os.versionId },
    servicesBefore: before,
    servicesNow: now,
    enabledBefore,
    enabledNow,
    workloadsNotBack,
    problems,
  };
  for (const p of problems) ctx.log(`postcheck: ${p}`, 'stderr');
  if (problems.length > 0) return fail('POSTCHECK_FAILED', problems.join('; '), report);
  ctx.log(`postcheck passed: ${os.prettyName || `${os.id} ${os.versionId}`}`, 'agent');
  return { ok: true, report };
}
