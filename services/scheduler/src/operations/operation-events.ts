// An operation's state, read from the one run of the plan that carries it, and the event a
// stored change of that run announces (on the bus and to the operation's callback). Pure.
import { clip, FailureKind, type MessageInitShape, type OperationEvent, type OperationEventSchema, stepEnum } from '@yixing/common';
import type { FailureKindName, HostRunDoc, PlanDoc } from '../db/models.ts';
import type { OperationRef } from './operation-ref.ts';

export const OPERATION_STATES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

const FAILURE_KIND: Record<FailureKindName, FailureKind> = {
  execution: FailureKind.EXECUTION,
  timeout: FailureKind.TIMEOUT,
  unreachable: FailureKind.UNREACHABLE,
};

/**
 * queued until its host is taken (and again while a cluster check waits), running while a
 * step is in flight or held for an operator, then succeeded or failed. An excluded run
 * (an operator left the host out) failed: it never ran. The end is told only once the
 * plan carrying it ended (`planEnded`), when the host is free for the next operation: a
 * platform that starts one on hearing "succeeded" is never told the host is busy.
 */
export function operationStateOf(run: Pick<HostRunDoc, 'state'>, planEnded = true): OperationState {
  switch (run.state) {
    case 'pending':
      return 'queued';
    case 'active':
    case 'held':
      return 'running';
    case 'succeeded':
      return planEnded ? 'succeeded' : 'running';
    case 'failed':
    case 'excluded':
      return planEnded ? 'failed' : 'running';
  }
}

export type OperationEventInit = MessageInitShape<typeof OperationEventSchema> &
  Pick<OperationEvent, 'eventId' | 'operationId' | 'hostId' | 'state'>;

/** The event of the run's state `run` (the id names the state, so each state is announced once). */
export function operationEventOf(
  plan: Pick<PlanDoc, '_id'>,
  op: OperationRef,
  run: HostRunDoc,
  atMs: number,
  planEnded: boolean,
): OperationEventInit {
  const state = operationStateOf(run, planEnded);
  const failure = state === 'failed' ? run.failure : null;
  const step = run.step ?? failure?.step ?? run.history.at(-1)?.step;
  return {
    eventId: `op.${plan._id}.${state}`,
    operationId: plan._id,
    hostId: run.hostId,
    capability: op.capability,
    state,
    planId: plan._id,
    runId: run.runId,
    ...(step ? { step: stepEnum(step) } : {}),
    ...(failure
      ? { error: { code: failure.code, message: clip('errorInfo', 'message', failure.message), kind: FAILURE_KIND[failure.kind] } }
      : state === 'failed' && run.state === 'excluded'
        ? { error: { code: 'OPERATION_EXCLUDED', message: clip('errorInfo', 'message', run.exclusionReason || 'excluded by an operator') } }
        : {}),
    backupId: run.backupId,
    atMs,
  };
}

/** The event a stored change of a live plan's run announces: only a change of the operation's state. */
export function operationChangeOf(
  plan: Pick<PlanDoc, '_id' | 'operation'>,
  before: HostRunDoc,
  after: HostRunDoc,
  atMs: number,
): OperationEventInit | null {
  if (!plan.operation || operationStateOf(before, false) === operationStateOf(after, false)) return null;
  return operationEventOf(plan, plan.operation, after, atMs, false);
}
