// The real driver: each step of an in-place migration on a root, with a package manager
// (apt or dnf) doing the package work. Nothing on the root changes before its backup is
// verified; a rollback restores the recorded package set and configuration and then
// proves it, or says it could not.

import { drainStep, undrainStep } from '../workloads/workload-steps.ts';
import type { Driver, StepContext, StepOutcome } from './driver.ts';
import { backupStep } from './migration/backup.ts';
import { postcheckStep } from './migration/postcheck.ts';
import { precheckStep } from './migration/precheck.ts';
import { rollbackStep } from './migration/rollback.ts';
import { fail, type MigrationDriverDeps } from './migration/step-deps.ts';
import { upgradeStep } from './migration/upgrade.ts';

export type { MigrationDriverDeps } from './migration/step-deps.ts';

export class MigrationDriver implements Driver {
  readonly name: 'apt' | 'dnf';
  readonly #d: MigrationDriverDeps;

  constructor(deps: MigrationDriverDeps) {
    this.name = deps.name;
    this.#d = deps;
  }

  async run(ctx: StepContext): Promise<StepOutcome> {
    const profile = this.#d.profiles.get(ctx.profile);
    if (!profile) return fail('PROFILE_UNKNOWN', `no profile ${ctx.profile} on this host (${[...this.#d.profiles.keys()].join(', ')})`);
    if (profile.driver !== this.name)
      return fail('PROFILE_DRIVER_MISMATCH', `profile ${profile.name} needs the ${profile.driver} driver, this agent runs ${this.name}`);
    const pm = this.#d.packageManager(profile);
    switch (ctx.step) {
      case 'cluster-check':
        ctx.log('no host-local cluster checks; the plan probe ran before this step', 'agent');
        return { ok: true };
      case 'precheck':
        return precheckStep(this.#d, ctx, profile, pm);
      case 'backup':
        return ctx.dryRun ? { ok: true, report: { dryRun: true } } : backupStep(this.#d, ctx, profile, pm);
      case 'upgrade':
        return ctx.dryRun ? { ok: true, report: { dryRun: true } } : upgradeStep(this.#d, ctx, pm);
      case 'postcheck':
        return postcheckStep(this.#d, ctx, profile, pm);
      case 'rollback':
        return rollbackStep(this.#d, ctx, pm);
      case 'drain':
        return ctx.dryRun
          ? { ok: true, report: { dryRun: true, workloads: [] } }
          : drainStep(ctx, this.#d.root, profile.workloads, this.#d.workloads ?? {});
      case 'undrain':
        return undrainStep(ctx, this.#d.workloads ?? {});
      case 'reboot':
        return { ok: true, report: { note: 'reboots are done by the agent' } };
    }
  }
}
