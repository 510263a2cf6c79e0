// The per-host state machine as a pure function: given a run's step outcome and the plan's
// failure policy, what happens next. The engine applies the result with one conditional
// write, so the decision is made once whatever happens to the process afterwards.
import type { StepName } from '@yixing/common';
import type { FailureKindName } from '../db/models.ts';

/** The step a taken host starts with. */
export const FIRST_STEP: StepName = 'cluster-check';

/** The forward path of a migration. Rollback is only entered on failure. */
export const MIGRATION_STEPS: readonly StepName[] = [FIRST_STEP, 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'];

/** Steps after which the host may have changed: a failure there needs a rollback. */
const CHANGES_HOST: ReadonlySet<StepName> = new Set(['upgrade', 'reboot', 'postcheck']);

/** Whether the host may have changed once `step` began: stopping it then needs a rollback. */
export function changesHost(step: StepName): boolean {
  return CHANGES_HOST.has(step);
}

export type Next =
  /** Run `step` (attempt 1, or the next attempt of a retried step). */
  | { kind: 'dispatch'; step: StepName; attempt: number; failed: boolean }
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

export function nextAfter(outcome: Outcome, policy: Policy): Next {
  const { step, attempt } = outcome;
  if (outcome.ok) {
    if (step === 'rollback') return { kind: 'failed', rollback: 'succeeded' };
    const i = MIGRATION_STEPS.indexOf(step);
    const following = MIGRATION_STEPS[i + 1];
    return following ? { kind: 'dispatch', step: following, attempt: 1, failed: false } : { kind: 'succeeded' };
  }
  // Timeouts and unreachable hosts may be transient; execution failures only if the
  // driver says so. A retry is another attempt of the same step.
  const mayRetry = outcome.retryable || outcome.kind === 'timeout' || outcome.kind === 'unreachable';
  if (mayRetry && attempt <= (policy.retries[step] ?? 0))
    return { kind: 'dispatch', step, attempt: attempt + 1, failed: step === 'rollback' };
  if (step === 'cluster-check') return { kind: 'defer' };
  if (step === 'rollback') return { kind: 'failed', rollback: 'failed' };
  if (!changesHost(step)) return { kind: 'failed', rollback: 'none' };
  return policy.onFailure === 'rollback' ? { kind: 'dispatch', step: 'rollback', attempt: 1, failed: true } : { kind: 'held' };
}
