// How this host can be rolled back, reported by the assessment and recorded in the run.
// Interim: the package strategy only.
import type { StepContext } from '../drivers/driver.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { Profile } from '../profiles/profile.ts';
import type { Finding } from './finding.ts';

/** `snapshot`: the root's snapshot reverted; `packages`: the recorded package set reinstalled; `none`: no rollback. */
export type RollbackStrategy = 'snapshot' | 'packages' | 'none';
/** What a plan or profile requires. */
export type RollbackRequirement = 'snapshot' | 'packages' | 'any';

export interface RollbackAssessment {
  required: RollbackRequirement;
  chosen: RollbackStrategy;
  /** Every strategy considered, whether this host can use it, and why not. */
  options: { strategy: Exclude<RollbackStrategy, 'none'>; usable: boolean; detail: string }[];
  findings: Finding[];
}

export async function assessRollback(_root: HostRoot, _profile: Profile, _ctx: StepContext): Promise<RollbackAssessment> {
  return {
    required: 'any',
    chosen: 'packages',
    options: [{ strategy: 'packages', usable: true, detail: 'the recorded package set is reinstalled from the source repositories' }],
    findings: [],
  };
}
