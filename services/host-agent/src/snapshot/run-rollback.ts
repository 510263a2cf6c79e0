// The rollback a run chose, kept in its run data: written by the upgrade step right
// before it changes anything, read by the rollback step.
import type { SnapshotDriverName, SnapshotRef } from './snapshot.driver.ts';
import type { RollbackRequirement, RollbackStrategy } from './strategy-choice.ts';

export const RUN_ROLLBACK = 'rollback';

export interface RunRollback {
  required: RollbackRequirement;
  strategy: RollbackStrategy;
  driver?: SnapshotDriverName;
  /** `taking` until the snapshot is whole; a crash in between takes it again. */
  state?: 'taking' | 'taken';
  snapshot?: SnapshotRef;
  /** `started` once a revert began; `reboot-pending` once only a reboot is left. */
  revert?: 'started' | 'reboot-pending';
}

/** What a step report says about the run's rollback. */
export function rollbackSummary(r: RunRollback | undefined): {
  strategy: RollbackStrategy;
  required: RollbackRequirement;
  snapshot?: string;
  driver?: SnapshotDriverName;
} {
  if (!r) return { strategy: 'packages', required: 'any' };
  return {
    strategy: r.strategy,
    required: r.required,
    ...(r.driver ? { driver: r.driver } : {}),
    ...(r.snapshot ? { snapshot: r.snapshot.id } : {}),
  };
}
