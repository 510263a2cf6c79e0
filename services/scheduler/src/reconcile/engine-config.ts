// The engine's timings: how often it ticks, how long it waits for agents, hosts and the
// backup service, and how often it asks again.

export interface EngineConfig {
  tickMs: number;
  /** A host not heard from for this long is unreachable (not during a reboot). */
  heartbeatGraceMs: number;
  /** A command no agent acknowledged for this long after this process first sent it fails the step as unreachable. */
  unreachableAfterMs: number;
  /** How often an unacknowledged command is sent again. */
  redispatchMs: number;
  /** Added to a step's timeout before the scheduler gives up on the agent. */
  deadlineGraceMs: number;
  /** How long a host waits after its cluster was not ready. */
  clusterCheckDeferMs: number;
  commandTimeoutMs: number;
  /** How often a run waiting for its backup asks the backup service (events can be lost). */
  backupStatusPollMs: number;
  /** How often a RunFinished event the stream has not acknowledged is sent again. */
  announceRetryMs: number;
  /** How long an Idempotency-Key of a plan creation is remembered (default a day). */
  planRequestTtlMs?: number;
}

export const defaultEngineConfig: EngineConfig = {
  tickMs: 200,
  heartbeatGraceMs: 30_000,
  unreachableAfterMs: 60_000,
  redispatchMs: 5_000,
  deadlineGraceMs: 30_000,
  clusterCheckDeferMs: 30_000,
  commandTimeoutMs: 5_000,
  backupStatusPollMs: 10_000,
  announceRetryMs: 10_000,
};
