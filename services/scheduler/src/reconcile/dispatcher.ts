// Commands to agents and questions to the backup service: a taken host's first step, a
// step sent (and sent again while no agent acknowledged it), a step cancelled, a backup's
// status asked. What is sent is remembered per run in the live state, so a command is
// not sent twice at once and an acknowledged one is not sent again.
import { type BackupEvent, BackupState, type Bus, type Logger, startSpan, stepEnum } from '@yixing/common';
import type { HostRunDoc } from '../db/models.ts';
import { takenRun } from '../host-runs/run-changes.ts';
import type { SchedulerMetrics } from '../metrics.ts';
import type { Leader } from './leader.ts';
import type { LiveState, SentRecord } from './live-state.ts';
import type { PlanRuntime } from './plan-runtime.ts';

export interface DispatcherDeps {
  live: LiveState;
  leader: Leader;
  bus: Bus;
  metrics: SchedulerMetrics;
  log: Logger;
  clock: () => number;
  config: { commandTimeoutMs: number; backupStatusPollMs: number; deadlineGraceMs: number };
  /** Applies the backup service's answer about a backup (as if its event had come). */
  onBackupStatus: (evt: Pick<BackupEvent, 'hostId' | 'runId' | 'backupId' | 'state' | 'reason'>) => Promise<void>;
}

/**
 * The trace a taken run's spans join: the one it has, or a new one whose first span
 * (`host-run`, ended at once: a span cannot outlive a restart) the steps hang under. That
 * span is the admission: which wave and failure domains, how many in flight, how long since the plan was created.
 */
function runTrace(rt: PlanRuntime, run: HostRunDoc, now: number): string {
  if (run.traceparent) return run.traceparent;
  const created = rt.plan.createdAt?.getTime();
  const span = startSpan('host-run', {
    parent: '',
    attributes: {
      'yx.host': run.hostId,
      'yx.plan': run.planId,
      'yx.run': run.runId,
      'yx.wave': rt.plan.phases[run.phase]?.name ?? '',
      'yx.order': run.order,
      'yx.cluster': run.cluster,
      'yx.zone': run.zone,
      'yx.rack': run.rack,
      'yx.in_flight': rt.counters.active,
      ...(created !== undefined ? { 'yx.since_plan_created_ms': Math.max(0, now - created) } : {}),
    },
  });
  span.end();
  return span.traceparent;
}

export class Dispatcher {
  readonly #deps: DispatcherDeps;
  /** Runs taken whose take is not stored yet (by run key). */
  readonly #unstored = new Set<string>();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
  }

  /**
   * Takes a pending host: accounted at once (the rest of the tick sees it), stored under
   * its lock, then sent. Nothing sends it before it is stored: a command for a take that a
   * crash (or a fence) leaves unstored would run a step the next leader takes again under
   * another command id.
   */
  take(rt: PlanRuntime, run: HostRunDoc, now: number): void {
    const { live, metrics, log, config } = this.#deps;
    const taken = { ...takenRun(run, rt.changeContext(now, config.deadlineGraceMs)), traceparent: runTrace(rt, run, now) };
    this.#unstored.add(run._id);
    live.replace(rt, taken);
    metrics.hostsTaken.inc();
    void live
      .withLock(run._id, async () => {
        let stored = false;
        try {
          stored = await live.commit(rt, run, taken);
        } finally {
          this.#unstored.delete(run._id);
        }
        if (stored) this.send(rt, rt.run(run._id));
      })
      .catch((err: Error) => log.error({ err: err.message, run: run._id }, 'take not persisted'));
  }

  /** The last send of the run's current command by this process, if any. */
  sentOf(run: HostRunDoc): SentRecord | undefined {
    const d = this.#deps.live.sent.get(run._id);
    return d?.commandId === run.commandId ? d : undefined;
  }

  /** An agent started the run's current command: it is not sent again. */
  acknowledged(run: HostRunDoc): void {
    const d = this.sentOf(run);
    if (d) {
      d.acked = true;
      d.ackedAt ??= this.#deps.clock();
    }
  }

  /**
   * Sends the run's step unless it is sent already (acknowledged, or a send in flight); a
   * send of the same command again keeps the time of its first.
   */
  send(rt: PlanRuntime, run: HostRunDoc): void {
    if (run.stepState !== 'dispatching' || !run.step || this.#unstored.has(run._id)) return;
    const { live, bus, metrics, log, clock, config } = this.#deps;
    const existing = live.sent.get(run._id);
    if (existing?.commandId === run.commandId && (existing.acked || existing.inFlight)) return;
    // Only the leader sends, and every command carries its epoch (the agent's fence).
    if (!this.#deps.leader.isLeader()) return;
    const leaderEpoch = this.#deps.leader.epoch();
    const now = clock();
    const firstSentAt = existing?.commandId === run.commandId ? existing.firstSentAt : now;
    const d: SentRecord = { commandId: run.commandId, firstSentAt, lastSentAt: now, acked: false, inFlight: true };
    live.sent.set(run._id, d);
    const spec = rt.plan.spec;
    const step = run.step;
    const probe = step === 'cluster-check' ? spec.clusterCheck.probe : undefined;
    const cmd = {
      commandId: run.commandId,
      hostId: run.hostId,
      runId: run.runId,
      issuedAtMs: clock(),
      leaderEpoch,
      action: {
        case: 'runStep' as const,
        value: {
          step: stepEnum(step),
          profile: spec.profile,
          attempt: run.attempt,
          timeoutSeconds: spec.steps.timeoutSeconds[step] ?? 0,
          dryRun: spec.dryRun,
          backupId: run.backupId,
          planId: run.planId,
          // Plans stored before the field existed require nothing.
          rollbackRequired: spec.rollback ?? 'any',
          continuesRunId: run.continuesRunId ?? '',
          ...(probe ? { probe: { kind: probe.kind, target: probe.target, timeoutMs: probe.timeoutMs } } : {}),
        },
      },
    };
    metrics.commandsSent.inc({ step });
    // A child of the run's first span, found from the stored run: a restarted scheduler continues the trace.
    const span = startSpan(`dispatch ${step}`, {
      parent: run.traceparent ?? '',
      kind: 'producer',
      attributes: { 'yx.host': run.hostId, 'yx.plan': run.planId, 'yx.run': run.runId, 'yx.command': run.commandId },
    });
    span
      .run(() => bus.request('agentCommand', cmd, config.commandTimeoutMs))
      .then((ack) => {
        if (ack.accepted) {
          d.acked = true;
          d.ackedAt ??= clock();
        } else log.warn({ host: run.hostId, command: run.commandId, reason: ack.reason }, 'agent refused a command');
        span.end(ack.accepted ? undefined : ack.reason);
      })
      .catch((err: Error) => {
        span.end(err.message);
        log.debug({ host: run.hostId, command: run.commandId, err: err.message }, 'command not delivered');
      })
      .finally(() => {
        d.inFlight = false;
      });
  }

  /** Tells the agent to stop the run's step (best effort: its deadline covers a lost cancel). */
  cancel(run: HostRunDoc, reason: string): void {
    if (!run.step || !this.#deps.leader.isLeader()) return;
    const { bus, clock, config, log, leader } = this.#deps;
    bus
      .request(
        'agentCommand',
        {
          commandId: `${run.commandId}.cancel`,
          hostId: run.hostId,
          runId: run.runId,
          issuedAtMs: clock(),
          leaderEpoch: leader.epoch(),
          action: { case: 'cancelStep', value: { step: stepEnum(run.step), reason } },
        },
        config.commandTimeoutMs,
      )
      // The agent stops only the step named: a refusal says what it runs instead.
      .then((ack) => {
        if (!ack.accepted) log.info({ host: run.hostId, run: run.runId, reason: ack.reason }, 'agent did not cancel');
      })
      .catch(() => undefined);
  }

  /**
   * The backup service announces verifications as events; should one be lost (the service
   * died between its write and the publish), asking it settles the wait. First asked one
   * interval after the wait began (the event normally comes first), then every interval.
   */
  askBackupStatus(run: HostRunDoc, now: number): void {
    const { live, bus, log, config } = this.#deps;
    const asked = live.backupPolls.get(run._id);
    if (!asked) {
      live.backupPolls.set(run._id, { at: now, inFlight: false });
      return;
    }
    if (asked.inFlight || now - asked.at < config.backupStatusPollMs) return;
    asked.at = now;
    asked.inFlight = true;
    bus
      .request('backupStatusRequest', { hostId: run.hostId, backupId: run.backupId }, config.commandTimeoutMs)
      .then((status) => {
        if (status.state !== BackupState.VERIFIED && status.state !== BackupState.FAILED) return;
        // An answer about another backup than the one asked about says nothing of this one.
        if (status.backupId !== run.backupId) return;
        // Asked on the run host's own subject: the answer is about that host's backup.
        const about = { hostId: run.hostId, runId: run.runId, backupId: run.backupId };
        return this.#deps.onBackupStatus({ ...about, state: status.state, reason: status.reason });
      })
      .catch((err: Error) => log.debug({ host: run.hostId, backup: run.backupId, err: err.message }, 'backup status not known'))
      .finally(() => {
        asked.inFlight = false;
      });
  }
}
