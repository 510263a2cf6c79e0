// The per-host state machine as a pure function: given a run's step outcome and the plan's
// failure policy, what happens next. The engine applies the result with one conditional
// write, so the decision is made once whatever happens to the process afterwards.
import type { StepName } from '@yixing/common';
import type { FailureKindName, HostRunDoc } from '../db/models.ts';

/** The step a migration starts with. */
export const FIRST_STEP: StepName = 'cluster-check';

/** The forward path of a migration. Rollback is only entered on failure. */
export const MIGRATION_STEPS: readonly StepName[] = [FIRST_STEP, 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'];

/**
 * Whether the host may have changed once `step` of `path` began: stopping it then needs a
 * rollback. That is the upgrade and every step after it on the path (the undrain after the
 * reboot included); a path with no upgrade never changes the host's system.
 */
export function changesHost(step: StepName, path: readonly StepName[] = MIGRATION_STEPS): boolean {
  const upgrade = path.indexOf('upgrade');
  const at = path.indexOf(step);
  return upgrade >= 0 && at >= upgrade;
}

export type Next =
  /** Run `step` (attempt 1, or the next attempt of a retried step). */
  | { kind: 'dispatch'; step: StepName; attempt: number; failed: boolean; rollback?: 'succeeded' }
  /** Cluster not ready: give the slot back and try this host later; not a failure. */
  | { kind: 'defer' }
  | { kind: 'succeeded' }
  /** Final failure; `rollback` tells what the host's state is. */
  | { kind: 'failed'; rollback: 'none' | 'succeeded' | 'failed' }
  /** Failed after changing the host; waits for an operator (onFailure: hold). */
  | { kind: 'held' };

export interface Outcome {
  step: StepName;
  attempt: number;
  ok: boolean;
  retryable: boolean;
  kind: FailureKindName | null;
}

export interface Policy {
  retries: Partial<Record<StepName, number>>;
  onFailure: 'rollback' | 'hold';
}

/** Where the run is: its forward path, and whether it is recovering from a failure. */
export interface RunShape {
  /** The run's forward steps (a migration, an assessment, one operation). */
  path: readonly StepName[];
  /** The run failed already: what runs now (a rollback, an undrain) only puts the host back. */
  recovering: boolean;
  /** A drain began on this run: whatever happens, the workloads are brought back. */
  drained: boolean;
  /** The run's rollback so far, kept by the undrain that follows it. */
  rollback: 'none' | 'running' | 'succeeded' | 'failed';
}

const MIGRATION: RunShape = { path: MIGRATION_STEPS, recovering: false, drained: false, rollback: 'none' };

const settled = (rollback: RunShape['rollback']): 'none' | 'succeeded' | 'failed' => (rollback === 'running' ? 'succeeded' : rollback);

export function nextAfter(outcome: Outcome, policy: Policy, shape: RunShape = MIGRATION): Next {
  const { step, attempt } = outcome;
  const forward = !shape.recovering && shape.path.includes(step);
  // Workloads drained on this run come back after a failure, once the host is put back.
  const undrain = (rollback?: 'succeeded'): Next => ({
    kind: 'dispatch',
    step: 'undrain',
    attempt: 1,
    failed: true,
    ...(rollback ? { rollback } : {}),
  });
  if (outcome.ok) {
    if (forward) {
      const following = shape.path[shape.path.indexOf(step) + 1];
      return following ? { kind: 'dispatch', step: following, attempt: 1, failed: false } : { kind: 'succeeded' };
    }
    if (step === 'rollback') return shape.drained ? undrain('succeeded') : { kind: 'failed', rollback: 'succeeded' };
    return { kind: 'failed', rollback: settled(shape.rollback) };
  }
  // Timeouts and unreachable hosts may be transient; execution failures only if the
  // driver says so. A retry is another attempt of the same step.
  const mayRetry = outcome.retryable || outcome.kind === 'timeout' || outcome.kind === 'unreachable';
  if (mayRetry && attempt <= (policy.retries[step] ?? 0))
    return { kind: 'dispatch', step, attempt: attempt + 1, failed: step === 'rollback' || shape.recovering };
  if (step === 'cluster-check') return { kind: 'defer' };
  if (step === 'rollback') return { kind: 'failed', rollback: 'failed' };
  // An undrain that failed is not tried again by another route: the run ends, the failure says why.
  if (step === 'undrain' && (!forward || !changesHost(step, shape.path))) return { kind: 'failed', rollback: settled(shape.rollback) };
  if (!changesHost(step, shape.path)) return shape.drained ? undrain() : { kind: 'failed', rollback: 'none' };
  return policy.onFailure === 'rollback' ? { kind: 'dispatch', step: 'rollback', attempt: 1, failed: true } : { kind: 'held' };
}

/** The shape of a stored run whose current step is `step` (runs stored before paths existed are migrations). */
export function runShape(run: Pick<HostRunDoc, 'path' | 'failure' | 'history' | 'rollback'>, step: StepName): RunShape {
  const path = run.path ?? MIGRATION_STEPS;
  return {
    path,
    recovering: run.failure !== null,
    drained: path.includes('drain') && (step === 'drain' || run.history.some((h) => h.step === 'drain')),
    rollback: run.rollback,
  };
}
