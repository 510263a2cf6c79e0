// Events are bound to their sender. A step event travels on its host's own subject and the
// codec refuses one whose body names another host, so `hostId` is the host the broker
// let publish it (with bus authentication on, an agent may publish only on its own
// subjects). Matching by run id alone would let host B end, fail or stall host A's run.
import { clampEventTime } from '@yixing/common';
import type { HostRunDoc } from '../db/models.ts';

/** Why an event from `sender` may not change this run, or undefined when it may. */
export function foreignSender(run: Pick<HostRunDoc, 'hostId' | 'runId'>, sender: string): string | undefined {
  return run.hostId === sender ? undefined : `host ${sender} sent an event about run ${run.runId} of host ${run.hostId}`;
}

/**
 * When a step started, from the agent's `atMs`: not before the command was dispatched,
 * not after now (a time ahead would push the step's deadline out), now when absent.
 */
export function stepStartedAt(run: Pick<HostRunDoc, 'dispatchedAt'>, atMs: number, now: number): Date {
  return new Date(clampEventTime(atMs, { notBefore: run.dispatchedAt?.getTime() ?? 0, now, skewMs: 0 }));
}
