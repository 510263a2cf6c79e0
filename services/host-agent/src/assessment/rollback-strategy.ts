// How this host can be rolled back, reported by the assessment and recorded in the run:
// which snapshot drivers can serve its root (tried in the order they are preferred, the
// first that can wins), whether its package set can be restored, and what the plan, the
// operator or the profile requires.
import type { StepContext } from '../drivers/driver.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { Profile } from '../profiles/profile.ts';
import { type CommandPort, realCommands } from '../snapshot/snapshot.driver.ts';
import { snapshotDrivers } from '../snapshot/snapshot-drivers.ts';
import {
  chooseStrategy,
  type RollbackRequirement,
  type RollbackStrategy,
  rollbackRequirement,
  type StrategyOption,
} from '../snapshot/strategy-choice.ts';
import type { Finding } from './finding.ts';

export type { RollbackRequirement, RollbackStrategy } from '../snapshot/strategy-choice.ts';

export interface RollbackAssessment {
  required: RollbackRequirement;
  chosen: RollbackStrategy;
  /** For `snapshot`: the driver that keeps it. */
  driver?: StrategyOption['driver'];
  /** Every strategy considered, whether this host can use it, and why not. */
  options: StrategyOption[];
  findings: Finding[];
}

export async function assessRollback(
  root: HostRoot,
  profile: Profile,
  ctx: StepContext,
  port: CommandPort = realCommands,
): Promise<RollbackAssessment> {
  const required = rollbackRequirement(ctx.rollbackRequired, profile.rollback);
  const options: StrategyOption[] = [];
  let found = false;
  for (const driver of snapshotDrivers(root, port)) {
    if (found) {
      options.push({
        strategy: 'snapshot',
        driver: driver.name,
        usable: false,
        detail: 'not considered: a preferred driver serves this root',
      });
      continue;
    }
    let detection: { usable: boolean; detail: string };
    try {
      detection = await driver.detect();
    } catch (err) {
      detection = { usable: false, detail: `cannot tell: ${(err as Error).message}` };
    }
    options.push({ strategy: 'snapshot', driver: driver.name, ...detection });
    found = detection.usable;
  }
  const sources = profile.apt?.sourceRepositories.length ?? profile.dnf?.sourceRepositories.length ?? 0;
  options.push(
    sources > 0
      ? { strategy: 'packages', usable: true, detail: 'the recorded package set is reinstalled from the source repositories' }
      : { strategy: 'packages', usable: false, detail: 'the profile names no source repositories to reinstall from' },
  );
  const choice = chooseStrategy(required, options);
  return { required, chosen: choice.chosen, ...(choice.driver ? { driver: choice.driver } : {}), options, findings: choice.findings };
}
