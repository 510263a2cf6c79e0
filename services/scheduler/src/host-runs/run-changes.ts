// How a run's document changes, as pure functions: a host taken, a step started, the slot
// given back, a run released or rolled back by an abort, a failed run retried, a held one
// resolved. transitions.ts decides what comes next; these build the next version, which
// the engine stores with one conditional write.
import type { StepName } from '@yixing/common';
import type { HostRunDoc, SlotRecord } from '../db/models.ts';
import { changesHost, MIGRATION_STEPS, runShape } from './transitions.ts';

/** What a change needs besides the run: the time, the plan's sequence, its step timeouts. */
export interface ChangeContext {
  now: number;
  /** The plan's next sequence number: takes, releases and failures are ordered by it. */
  nextSeq: () => number;
  timeoutSeconds: Partial<Record<StepName, number>>;
  /** Added to a step's timeout before the scheduler gives up on the agent. */
  deadlineGraceMs: number;
}

/** A run with a step in flight (or just ended): what every outcome applies to. */
export type RunInStep = HostRunDoc & { step: StepName };

export function isInStep(run: HostRunDoc): run is RunInStep {
  return run.step !== null;
}

/** Whether the run waits for the outcome of `commandId`: an event of any other command (a replay, a duplicate) changes nothing. */
export function awaitsOutcome(run: HostRunDoc, commandId: string): run is RunInStep {
  return run.commandId === commandId && run.state === 'active' && !!run.stepState && isInStep(run);
}

/** A step's timeout when the plan names none. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = 3600;

/**
 * The command id of a step attempt: derived from the run, its slot, the step and the
 * attempt, so a command re-sent after a restart is recognised by the agent and never
 * runs twice.
 */
export function commandIdOf(run: Pick<HostRunDoc, 'runId'>, slot: number, step: StepName, attempt: number): string {
  return `${run.runId}.${slot}.${step}.${attempt}`;
}

/** The fields of a run that starts `step` (attempt `attempt`) in slot `slot` (its current one). */
export function startStep(
  run: HostRunDoc,
  step: StepName,
  attempt: number,
  ctx: ChangeContext,
  slot = run.slots.length - 1,
): Pick<HostRunDoc, 'step' | 'attempt' | 'commandId' | 'stepState' | 'dispatchedAt' | 'stepStartedAt' | 'deadlineAt'> {
  const timeout = ctx.timeoutSeconds[step] ?? DEFAULT_STEP_TIMEOUT_SECONDS;
  return {
    step,
    attempt,
    commandId: commandIdOf(run, slot, step, attempt),
    stepState: 'dispatching',
    dispatchedAt: new Date(ctx.now),
    stepStartedAt: null,
    deadlineAt: new Date(ctx.now + timeout * 1000 + ctx.deadlineGraceMs),
  };
}

/** No step in flight. */
export const IDLE_STEP = { step: null, stepState: null, dispatchedAt: null, stepStartedAt: null, deadlineAt: null } as const;

/** Leaves the step and gives the run's slot back (the release takes the plan's next sequence number). */
export function releaseSlot(run: HostRunDoc, ctx: Pick<ChangeContext, 'now' | 'nextSeq'>): typeof IDLE_STEP & { slots: SlotRecord[] } {
  const slot = run.slots.length - 1;
  return {
    ...IDLE_STEP,
    slots: run.slots.map((s, i) => (i === slot ? { ...s, releasedSeq: ctx.nextSeq(), releasedAt: new Date(ctx.now) } : s)),
  };
}

/** A pending run taken: a new slot, and its first step dispatched. */
export function takenRun(run: HostRunDoc, ctx: ChangeContext): HostRunDoc {
  const slot = run.slots.length;
  return {
    ...run,
    state: 'active',
    ...startStep(run, (run.path ?? MIGRATION_STEPS)[0] ?? 'cluster-check', 1, ctx, slot),
    notBefore: null,
    slots: [...run.slots, { takenSeq: ctx.nextSeq(), takenAt: new Date(ctx.now), releasedSeq: null, releasedAt: null }],
  };
}

/**
 * Abort with rollback, for a run in flight: a host not yet changed is released (pending
 * again, its slot given back); a changed one rolls back, counted as failed by the abort.
 * A host whose workloads were drained gets them back first (an undrain, then failed).
 */
export function abortedRun(run: RunInStep, ctx: ChangeContext): { after: HostRunDoc; rollsBack: boolean } {
  const shape = runShape(run, run.step);
  const changed = changesHost(run.step, shape.path);
  if (!changed && !shape.drained) return { after: { ...run, state: 'pending', ...releaseSlot(run, ctx) }, rollsBack: false };
  return {
    rollsBack: true,
    after: {
      ...run,
      ...startStep(run, changed ? 'rollback' : 'undrain', 1, ctx),
      failure: run.failure ?? {
        step: run.step,
        kind: 'execution',
        code: 'PLAN_ABORTED',
        message: 'plan aborted',
        seq: ctx.nextSeq(),
        at: new Date(ctx.now),
      },
      rollback: changed ? 'running' : run.rollback,
    },
  };
}

/** A failed run back in the queue under a new run id, no longer counted as failed. */
export function retriedRun(run: HostRunDoc, runId: string): HostRunDoc {
  return {
    ...run,
    state: 'pending',
    runId,
    previousRunIds: [...run.previousRunIds, run.runId],
    failure: null,
    rollback: 'none',
    notBefore: null,
  };
}

/** A held run resolved by an operator: roll back, or run the failed step again (its next attempt). */
export function resolvedHeld(
  run: HostRunDoc & { failure: NonNullable<HostRunDoc['failure']> },
  action: 'rollback' | 'retry',
  ctx: ChangeContext,
): HostRunDoc {
  if (action === 'rollback') return { ...run, state: 'active', ...startStep(run, 'rollback', 1, ctx), rollback: 'running' };
  const failed = run.failure.step;
  const lastAttempt = run.history.filter((h) => h.step === failed).at(-1)?.attempt ?? 1;
  return { ...run, state: 'active', ...startStep(run, failed, lastAttempt + 1, ctx), failure: null };
}
