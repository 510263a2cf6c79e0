// Supervision of a step in flight, as a pure function: given a run, what became of its
// last command and the time, is the step fine, past its deadline, sent to no agent for
// too long, in need of sending (again), waiting on the backup service, or on a host that
// stopped heartbeating? The engine acts on the verdict.
import type { FailureKindName, HostRunDoc } from '../db/models.ts';

/** What the engine knows of the last send of the run's current command. */
export interface SentCommand {
  /** When this process first sent the command (a re-send keeps it). */
  firstSentAt: number;
  lastSentAt: number;
  acked: boolean;
  /** When the agent acknowledged it: a sign of life as good as a heartbeat. */
  ackedAt?: number;
  inFlight: boolean;
}

export interface SupervisionLimits {
  /** A host not heard from for this long is unreachable (not during a reboot). */
  heartbeatGraceMs: number;
  /** A command no agent acknowledged for this long after its first send fails the step as unreachable. */
  unreachableAfterMs: number;
  /** How often an unacknowledged command is sent again. */
  redispatchMs: number;
}

export type Verdict =
  | { kind: 'fine' }
  /** The scheduler fails the step itself. */
  | { kind: 'fail'; failure: FailureKindName; code: string; message: string }
  /** The upgrade waits for the backup service: ask it (events can be lost). */
  | { kind: 'ask-backup' }
  /** Send the command: never sent by this process, or `again` after no acknowledgement. */
  | { kind: 'send'; again: boolean };

export interface SupervisionContext {
  now: number;
  /** When this scheduler started: a command dispatched before was not sent by it. */
  startedAt: number;
  limits: SupervisionLimits;
  isAlive: (hostId: string) => boolean;
}

/** The verdict on one run. `sent`: the last send of its current command, if this process made one. */
export function supervise(run: HostRunDoc, sent: SentCommand | undefined, ctx: SupervisionContext): Verdict {
  const { now, limits } = ctx;
  if (run.state !== 'active' || !run.stepState) return { kind: 'fine' };
  if (run.deadlineAt && run.deadlineAt.getTime() < now)
    return {
      kind: 'fail',
      failure: 'timeout',
      code: 'STEP_DEADLINE',
      message: `no outcome from the agent before the ${run.step} deadline`,
    };
  if (run.stepState === 'awaiting-backup') return { kind: 'ask-backup' };
  if (run.stepState === 'dispatching' && !sent?.acked) {
    // Not sent by this process yet (its take or the outcome before it still being stored,
    // a store outage, a restart): no agent has had the chance to answer.
    if (!sent) return { kind: 'send', again: false };
    // Counted from the first send, not the decision: during a 30 s store outage the
    // decision was stored (and so sent) late, and the step was failed 0.3 s after its
    // agent had started it (tests/chaos/store-restart.test.ts). A reboot takes the agent
    // away: only its deadline applies.
    const since = Math.max(run.dispatchedAt?.getTime() ?? now, ctx.startedAt, sent.firstSentAt);
    if (run.step !== 'reboot' && now - since > limits.unreachableAfterMs)
      return {
        kind: 'fail',
        failure: 'unreachable',
        code: 'AGENT_UNREACHABLE',
        message: `no agent acknowledged ${run.step} within ${limits.unreachableAfterMs} ms`,
      };
    if (!sent.inFlight && now - sent.lastSentAt >= limits.redispatchMs) return { kind: 'send', again: true };
    return { kind: 'fine' };
  }
  // An agent back from a partition may acknowledge a command before its first heartbeat
  // arrives: it was heard from, its step must not fail for want of a heartbeat.
  const heard = sent?.ackedAt !== undefined && now - sent.ackedAt <= limits.heartbeatGraceMs;
  if (run.step !== 'reboot' && !heard && !ctx.isAlive(run.hostId))
    return {
      kind: 'fail',
      failure: 'unreachable',
      code: 'HEARTBEAT_LOST',
      message: `no heartbeat for ${limits.heartbeatGraceMs} ms during ${run.step}`,
    };
  return { kind: 'fine' };
}
