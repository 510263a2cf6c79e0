// The level-triggered engine: every tick it compares what each live plan wants with what
// its hosts are doing, takes new hosts within every limit, supervises steps in flight
// (deadlines, lost agents, re-sends) and moves plans through their gates. Step outcomes
// arrive from the durable event consumer. Every change is one conditional write; a
// command id is derived from the run, its slot, the step and the attempt, so a command
// re-sent after a restart is recognised by the agent and never runs twice.
import { EventEmitter } from 'node:events';
import {
  type BackupEvent,
  BackupState,
  type Bus,
  conditionalUpdate,
  FailureKind,
  type Logger,
  StaleWriteError,
  type StepEvent,
  type StepName,
  StepPhase,
  stepEnum,
  YxError,
} from '@yixing/common';
import type { AuditLog } from '../audit/audit-log.ts';
import type { FailureKindName, HostRunDoc, Models, PlanDoc, PlanState, StepRecord } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { newRunId } from '../host-runs/new-run.ts';
import { MIGRATION_STEPS, nextAfter } from '../host-runs/transitions.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { SchedulerMetrics } from '../metrics.ts';
import { budgetRoom, requiredHealthy } from '../plans/plan-math.ts';
import { mayStartAt } from '../plans/windows.ts';
import { Housekeeping } from './housekeeping.ts';
import { isFinal, isOccupying, PlanRuntime } from './plan-runtime.ts';
import { RunFinishedOutbox } from './run-finished-outbox.ts';

export interface EngineConfig {
  tickMs: number;
  /** A host not heard from for this long is unreachable (not during a reboot). */
  heartbeatGraceMs: number;
  /** A command no agent acknowledged for this long fails the step as unreachable. */
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

export interface EngineEvents {
  plan: [planId: string];
  run: [planId: string, run: HostRunDoc];
}

export interface EngineDeps {
  models: Models;
  runs: RunStore;
  bus: Bus;
  inventory: Inventory;
  audit: AuditLog;
  metrics: SchedulerMetrics;
  log: Logger;
  clock: () => number;
  config: EngineConfig;
}

interface Dispatch {
  commandId: string;
  lastSentAt: number;
  acked: boolean;
  inFlight: boolean;
}

export interface StepResult {
  ok: boolean;
  kind: FailureKindName | null;
  code: string;
  message: string;
  retryable: boolean;
  report: string;
  startedAt: number | null;
}

const FINAL_PLAN: ReadonlySet<PlanState> = new Set(['completed', 'aborted']);
const KIND_NAME: Record<number, FailureKindName> = {
  [FailureKind.EXECUTION]: 'execution',
  [FailureKind.TIMEOUT]: 'timeout',
  [FailureKind.UNREACHABLE]: 'unreachable',
};

export class PlanConflictError extends YxError {
  readonly code = 'PLAN_STATE_CONFLICT';
  readonly retryable = false;
  override readonly httpStatus = 409;
}

export class Engine {
  readonly events = new EventEmitter<EngineEvents>();
  readonly plans = new Map<string, PlanRuntime>();
  readonly #deps: EngineDeps;
  readonly #byRunId = new Map<string, { planId: string; docId: string }>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #dispatch = new Map<string, Dispatch>();
  /** Runs waiting for a backup: when the backup service was last asked about it. */
  readonly #backupAsked = new Map<string, { at: number; inFlight: boolean }>();
  readonly #occupied = new Map<string, number>();
  /** Hosts held (host → plan) for plans whose creation is not settled; see holdHosts. */
  readonly #held = new Map<string, string>();
  readonly #holds = new Map<string, string[]>();
  readonly #outbox: RunFinishedOutbox;
  readonly #housekeeping: Housekeeping;
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#startedAt = deps.clock();
    this.#outbox = new RunFinishedOutbox({ ...deps, retryMs: deps.config.announceRetryMs });
    this.#housekeeping = new Housekeeping({ ...deps, outbox: this.#outbox, planRequestTtlMs: deps.config.planRequestTtlMs });
  }

  get #cfg(): EngineConfig {
    return this.#deps.config;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Rebuilds the mirror of every live plan from the database. */
  async load(): Promise<void> {
    const plans = await this.#deps.models.Plan.find({ state: { $nin: [...FINAL_PLAN] } }).lean<PlanDoc[]>();
    for (const plan of plans) this.addPlan(plan, await this.#deps.runs.loadPlan(plan._id));
    await this.#outbox.load([...this.plans.values()].flatMap((rt) => [...rt.runs.values()]));
    // A plan that ended just before a crash may still hold versions: compact it now.
    const ended = await this.#deps.models.RunState.distinct('planId', { planId: { $nin: plans.map((p) => p._id) } });
    for (const planId of ended as string[]) await this.#compact(planId, await this.#deps.runs.loadPlan(planId));
  }

  /** Compacts an ended plan's runs; what could not be archived keeps its versions and is tried again at start. */
  async #compact(planId: string, finals: HostRunDoc[]): Promise<void> {
    try {
      await this.#deps.runs.compact(planId, finals);
    } catch (err) {
      this.#deps.log.error({ plan: planId, err: (err as Error).message }, 'compaction incomplete; retried at the next start');
    }
  }

  addPlan(plan: PlanDoc, runs: HostRunDoc[]): void {
    const rt = new PlanRuntime(plan, runs);
    this.releaseHosts(plan._id);
    this.plans.set(plan._id, rt);
    for (const r of runs) {
      this.#byRunId.set(r.runId, { planId: plan._id, docId: r._id });
      if (isOccupying(r)) this.#occupy(r.hostId, 1);
    }
    this.events.emit('plan', plan._id);
  }

  /** Takes a plan out of the engine: undoes everything addPlan and its runs' changes did. */
  removePlan(planId: string): void {
    this.releaseHosts(planId);
    const rt = this.plans.get(planId);
    if (!rt) return;
    this.plans.delete(planId);
    for (const r of rt.runs.values()) {
      if (this.#byRunId.get(r.runId)?.planId === planId) this.#byRunId.delete(r.runId);
      if (isOccupying(r)) this.#occupy(r.hostId, -1);
      this.#dispatch.delete(r._id);
      this.#backupAsked.delete(r._id);
    }
  }

  /**
   * Holds hosts for a plan the engine does not run, whose creation is not settled (was its
   * document stored?): no other plan may take them meanwhile. Adding the plan, or
   * releasing them, ends the hold.
   */
  holdHosts(planId: string, hostIds: string[]): void {
    this.releaseHosts(planId);
    this.#holds.set(planId, hostIds);
    for (const h of hostIds) this.#held.set(h, planId);
  }

  releaseHosts(planId: string): void {
    for (const h of this.#holds.get(planId) ?? []) if (this.#held.get(h) === planId) this.#held.delete(h);
    this.#holds.delete(planId);
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.tick().catch((err: Error) => this.#deps.log.error({ err: err.message }, 'tick failed'));
    }, this.#cfg.tickMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.allSettled([...this.#locks.values()]);
  }

  /** Serializes every change of one run (or one plan document) in call order. */
  #withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#locks.set(key, settled);
    void settled.then(() => {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    });
    return next;
  }

  #occupy(hostId: string, sign: 1 | -1): void {
    const n = (this.#occupied.get(hostId) ?? 0) + sign;
    if (n <= 0) this.#occupied.delete(hostId);
    else this.#occupied.set(hostId, n);
  }

  #replace(rt: PlanRuntime, run: HostRunDoc): void {
    const old = rt.runs.get(run._id);
    if (old && isOccupying(old)) this.#occupy(old.hostId, -1);
    if (isOccupying(run)) this.#occupy(run.hostId, 1);
    if (old && old.runId !== run.runId) this.#byRunId.delete(old.runId);
    this.#byRunId.set(run.runId, { planId: rt.plan._id, docId: run._id });
    // Per-run bookkeeping lives only as long as what it tracks.
    if (run.stepState !== 'awaiting-backup') this.#backupAsked.delete(run._id);
    if (!run.step) this.#dispatch.delete(run._id);
    rt.replace(run);
    this.events.emit('run', rt.plan._id, run);
  }

  async #reloadRun(rt: PlanRuntime, key: string): Promise<HostRunDoc | undefined> {
    const fresh = await this.#deps.runs.loadRun(key);
    if (fresh) this.#replace(rt, fresh);
    return fresh;
  }

  /** Stores `after` as the next version of `before`; false if someone moved first. */
  async #commit(rt: PlanRuntime, before: HostRunDoc, after: HostRunDoc): Promise<boolean> {
    try {
      this.#replace(rt, await this.#deps.runs.commit(before, after));
      return true;
    } catch (err) {
      if (!(err instanceof StaleWriteError)) {
        await this.#reloadRun(rt, before._id).catch(() => undefined);
        throw err;
      }
      await this.#reloadRun(rt, before._id);
      return false;
    }
  }

  // ---------------------------------------------------------------- the loop

  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    const started = performance.now();
    try {
      const now = this.#deps.clock();
      this.#outbox.tick(now);
      this.#housekeeping.tick(now, () => [...this.plans.keys()]);
      for (const rt of this.plans.values()) {
        if (FINAL_PLAN.has(rt.plan.state)) continue;
        this.#supervise(rt, now);
        if (rt.plan.state === 'running') this.#takeHosts(rt, now);
        await this.#advancePlan(rt, now);
      }
    } catch (err) {
      this.#deps.log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'tick failed');
    } finally {
      this.#deps.metrics.tickSeconds.observe((performance.now() - started) / 1000);
      this.#ticking = false;
    }
  }

  // ---------------------------------------------------------------- taking hosts

  #domainLimit(rt: PlanRuntime, domain: 'cluster' | 'zone' | 'rack', name: string): number {
    return rt.plan.domainLimits.find((d) => d.domain === domain && d.name === name)?.limit ?? Number.POSITIVE_INFINITY;
  }

  #domainInFlight(domain: 'cluster' | 'zone' | 'rack', name: string): number {
    let n = 0;
    for (const h of this.#deps.inventory.members(domain, name)) if (this.#occupied.has(h)) n++;
    return n;
  }

  /** Healthy peers that must remain in the host's cluster for it to be taken. */
  #clusterAllows(rt: PlanRuntime, hostId: string, cluster: string, healthy: Map<string, number>): boolean {
    const members = this.#deps.inventory.members('cluster', cluster);
    const required = cluster === '' ? 0 : requiredHealthy(members.size, rt.plan.spec.clusterCheck.minHealthyPercent);
    if (required === 0) return true;
    let count = healthy.get(cluster);
    if (count === undefined) {
      count = 0;
      for (const m of members) if (!this.#occupied.has(m) && this.#deps.inventory.isAlive(m, this.#cfg.heartbeatGraceMs)) count++;
      healthy.set(cluster, count);
    }
    const self = !this.#occupied.has(hostId) && this.#deps.inventory.isAlive(hostId, this.#cfg.heartbeatGraceMs) ? 1 : 0;
    return count - self >= required;
  }

  #takeHosts(rt: PlanRuntime, now: number): void {
    const spec = rt.plan.spec;
    if (!mayStartAt(spec.windows, spec.windowCutoffMinutes, now)) return;
    const c = rt.counters;
    let room = Math.min(spec.limits.maxInFlight - c.inFlight, budgetRoom(rt.plan.budget, c.failures, c.inFlightNotFailed));
    if (room <= 0) return;
    const healthy = new Map<string, number>();
    const domainCounts = new Map<string, number>();
    const inFlightOf = (domain: 'cluster' | 'zone' | 'rack', name: string): number => {
      const key = `${domain}:${name}`;
      let n = domainCounts.get(key);
      if (n === undefined) {
        n = this.#domainInFlight(domain, name);
        domainCounts.set(key, n);
      }
      return n;
    };
    let sawPending = false;
    for (let i = rt.pendingCursor; i < rt.order.length && room > 0; i++) {
      const run = rt.runs.get(rt.order[i] as string) as HostRunDoc;
      if (run.state !== 'pending') {
        if (!sawPending) rt.pendingCursor = i + 1;
        continue;
      }
      sawPending = true;
      if (run.phase > rt.plan.openPhase) break;
      if (run.notBefore && run.notBefore.getTime() > now) continue;
      const ph = rt.phases[run.phase];
      if (ph && budgetRoom(ph.budget, ph.failed, ph.inFlightNotFailed) <= 0) continue;
      if (this.#occupied.has(run.hostId)) continue;
      const domains = [
        ['cluster', run.cluster],
        ['zone', run.zone],
        ['rack', run.rack],
      ] as const;
      if (domains.some(([d, name]) => inFlightOf(d, name) >= this.#domainLimit(rt, d, name))) continue;
      if (!this.#clusterAllows(rt, run.hostId, run.cluster, healthy)) continue;
      this.#take(rt, run, now);
      room--;
      for (const [d, name] of domains) domainCounts.set(`${d}:${name}`, inFlightOf(d, name) + 1);
      const h = healthy.get(run.cluster);
      if (h !== undefined && this.#deps.inventory.isAlive(run.hostId, this.#cfg.heartbeatGraceMs)) healthy.set(run.cluster, h - 1);
    }
  }

  #commandId(run: HostRunDoc, slot: number, step: StepName, attempt: number): string {
    return `${run.runId}.${slot}.${step}.${attempt}`;
  }

  #stepFields(rt: PlanRuntime, run: HostRunDoc, slot: number, step: StepName, attempt: number, now: number): Partial<HostRunDoc> {
    const timeout = rt.plan.spec.steps.timeoutSeconds[step] ?? 3600;
    return {
      step,
      attempt,
      commandId: this.#commandId(run, slot, step, attempt),
      stepState: 'dispatching',
      dispatchedAt: new Date(now),
      stepStartedAt: null,
      deadlineAt: new Date(now + timeout * 1000 + this.#cfg.deadlineGraceMs),
    };
  }

  #take(rt: PlanRuntime, run: HostRunDoc, now: number): void {
    const slot = run.slots.length;
    const taken: HostRunDoc = {
      ...run,
      state: 'active',
      ...this.#stepFields(rt, run, slot, MIGRATION_STEPS[0] as StepName, 1, now),
      notBefore: null,
      slots: [...run.slots, { takenSeq: rt.nextSeq(), takenAt: new Date(now), releasedSeq: null, releasedAt: null }],
    };
    // Account the take at once so the rest of this tick sees it; persist under the lock.
    this.#replace(rt, taken);
    this.#deps.metrics.hostsTaken.inc();
    void this.#withLock(run._id, async () => {
      const ok = await this.#commit(rt, run, taken);
      if (ok) this.#send(rt, rt.runs.get(run._id) as HostRunDoc);
    }).catch((err: Error) => this.#deps.log.error({ err: err.message, run: run._id }, 'take not persisted'));
  }

  // ---------------------------------------------------------------- commands

  #send(rt: PlanRuntime, run: HostRunDoc): void {
    if (run.stepState !== 'dispatching' || !run.step) return;
    const existing = this.#dispatch.get(run._id);
    if (existing?.commandId === run.commandId && (existing.acked || existing.inFlight)) return;
    const d: Dispatch = { commandId: run.commandId, lastSentAt: this.#deps.clock(), acked: false, inFlight: true };
    this.#dispatch.set(run._id, d);
    const spec = rt.plan.spec;
    const step = run.step;
    const cmd = {
      commandId: run.commandId,
      hostId: run.hostId,
      runId: run.runId,
      issuedAtMs: this.#deps.clock(),
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
          ...(step === 'cluster-check' && spec.clusterCheck.probe
            ? {
                probe: {
                  kind: spec.clusterCheck.probe.kind,
                  target: spec.clusterCheck.probe.target,
                  timeoutMs: spec.clusterCheck.probe.timeoutMs,
                },
              }
            : {}),
        },
      },
    };
    this.#deps.metrics.commandsSent.inc({ step });
    this.#deps.bus
      .request('agentCommand', cmd, this.#cfg.commandTimeoutMs)
      .then((ack) => {
        if (ack.accepted) d.acked = true;
        else this.#deps.log.warn({ host: run.hostId, command: run.commandId, reason: ack.reason }, 'agent refused a command');
      })
      .catch((err: Error) => this.#deps.log.debug({ host: run.hostId, command: run.commandId, err: err.message }, 'command not delivered'))
      .finally(() => {
        d.inFlight = false;
      });
  }

  /**
   * The backup service announces verifications as events; should one be lost (the service
   * died between its write and the publish), asking it settles the wait. First asked one
   * interval after the wait began (the event normally comes first), then every interval.
   */
  #askBackupStatus(run: HostRunDoc, now: number): void {
    const asked = this.#backupAsked.get(run._id);
    if (!asked) {
      this.#backupAsked.set(run._id, { at: now, inFlight: false });
      return;
    }
    if (asked.inFlight || now - asked.at < this.#cfg.backupStatusPollMs) return;
    asked.at = now;
    asked.inFlight = true;
    this.#deps.bus
      .request('backupStatusRequest', { hostId: run.hostId, backupId: run.backupId }, this.#cfg.commandTimeoutMs)
      .then((status) => {
        if (status.state !== BackupState.VERIFIED && status.state !== BackupState.FAILED) return;
        return this.applyBackupEvent({ runId: run.runId, backupId: run.backupId, state: status.state, reason: status.reason });
      })
      .catch((err: Error) => this.#deps.log.debug({ host: run.hostId, backup: run.backupId, err: err.message }, 'backup status not known'))
      .finally(() => {
        asked.inFlight = false;
      });
  }

  #cancel(run: HostRunDoc, reason: string): void {
    if (!run.step) return;
    this.#deps.bus
      .request(
        'agentCommand',
        {
          commandId: `${run.commandId}.cancel`,
          hostId: run.hostId,
          runId: run.runId,
          issuedAtMs: this.#deps.clock(),
          action: { case: 'cancelStep', value: { step: stepEnum(run.step), reason } },
        },
        this.#cfg.commandTimeoutMs,
      )
      .catch(() => undefined);
  }

  // ---------------------------------------------------------------- supervision

  #supervise(rt: PlanRuntime, now: number): void {
    for (const docId of rt.active) {
      const run = rt.runs.get(docId) as HostRunDoc;
      if (run.state !== 'active' || !run.stepState) continue;
      const d = this.#dispatch.get(docId);
      const sent = d?.commandId === run.commandId ? d : undefined;
      if (run.deadlineAt && run.deadlineAt.getTime() < now) {
        this.#failFromScheduler(rt, run, 'timeout', 'STEP_DEADLINE', `no outcome from the agent before the ${run.step} deadline`);
        continue;
      }
      if (run.stepState === 'awaiting-backup') {
        this.#askBackupStatus(run, now);
        continue;
      }
      if (run.stepState === 'dispatching' && !sent?.acked) {
        const since = Math.max(run.dispatchedAt?.getTime() ?? now, this.#startedAt);
        if (run.step !== 'reboot' && now - since > this.#cfg.unreachableAfterMs) {
          this.#failFromScheduler(
            rt,
            run,
            'unreachable',
            'AGENT_UNREACHABLE',
            `no agent acknowledged ${run.step} within ${this.#cfg.unreachableAfterMs} ms`,
          );
          continue;
        }
        if (!sent || (!sent.inFlight && now - sent.lastSentAt >= this.#cfg.redispatchMs)) {
          if (sent) this.#dispatch.delete(docId);
          this.#send(rt, run);
        }
        continue;
      }
      if (run.step !== 'reboot' && !this.#deps.inventory.isAlive(run.hostId, this.#cfg.heartbeatGraceMs, now)) {
        this.#failFromScheduler(
          rt,
          run,
          'unreachable',
          'HEARTBEAT_LOST',
          `no heartbeat for ${this.#cfg.heartbeatGraceMs} ms during ${run.step}`,
        );
      }
    }
  }

  #failFromScheduler(rt: PlanRuntime, run: HostRunDoc, kind: FailureKindName, code: string, message: string): void {
    const commandId = run.commandId;
    void this.#withLock(run._id, async () => {
      const current = rt.runs.get(run._id) as HostRunDoc;
      if (current.commandId !== commandId || current.state !== 'active') return;
      this.#cancel(current, message);
      await this.#applyOutcome(rt, current, {
        ok: false,
        kind,
        code,
        message,
        retryable: kind !== 'unreachable',
        report: '',
        startedAt: null,
      });
    }).catch((err: Error) => this.#deps.log.error({ err: err.message, run: run._id }, 'failure not recorded'));
  }

  // ---------------------------------------------------------------- step events

  /** Applies a step event from the stream. Resolves once its effect is stored. */
  applyStepEvent(evt: StepEvent): Promise<void> {
    const ref = this.#byRunId.get(evt.runId);
    if (!ref) return Promise.resolve();
    const rt = this.plans.get(ref.planId);
    if (!rt) return Promise.resolve();
    return this.#withLock(ref.docId, async () => {
      const run = rt.runs.get(ref.docId) as HostRunDoc;
      // An event of an older command (a replay, a duplicate) changes nothing.
      if (run.commandId !== evt.commandId || run.state !== 'active' || !run.stepState) return;
      if (evt.phase === StepPhase.RUNNING) {
        if (evt.kindToken === 'started' && run.stepState === 'dispatching') {
          const d = this.#dispatch.get(run._id);
          if (d?.commandId === run.commandId) d.acked = true;
          this.#replace(rt, { ...run, stepState: 'running', stepStartedAt: new Date(evt.atMs || this.#deps.clock()) });
        }
        return;
      }
      const ok = evt.phase === StepPhase.SUCCEEDED;
      this.#deps.metrics.stepOutcomes.inc({ step: run.step ?? 'none', outcome: ok ? 'succeeded' : 'failed' });
      await this.#applyOutcome(rt, run, {
        ok,
        kind: ok ? null : (KIND_NAME[evt.error?.kind ?? FailureKind.EXECUTION] ?? 'execution'),
        code: evt.error?.code ?? '',
        message: evt.error?.message ?? evt.message,
        retryable: evt.error?.retryable ?? false,
        report: evt.reportJson,
        startedAt: run.stepStartedAt?.getTime() ?? null,
      });
    });
  }

  /**
   * The backup service verified (or failed) a backup: recorded on its run; an upgrade
   * waiting for it is dispatched (or the run fails: no upgrade without a verified backup).
   */
  applyBackupEvent(evt: Pick<BackupEvent, 'runId' | 'backupId' | 'state' | 'reason'>): Promise<void> {
    const ref = this.#byRunId.get(evt.runId);
    const rt = ref && this.plans.get(ref.planId);
    if (!ref || !rt) return Promise.resolve();
    return this.#withLock(ref.docId, async () => {
      const run = rt.runs.get(ref.docId) as HostRunDoc;
      if (run.state !== 'active') return;
      if (evt.state === BackupState.VERIFIED) {
        if (run.backupVerified && run.backupId === evt.backupId) return;
        // A late event about an earlier attempt's backup: the run relies on the one it names.
        if (run.backupId && run.backupId !== evt.backupId) return;
        const waiting = run.stepState === 'awaiting-backup' && run.backupId === evt.backupId;
        const after: HostRunDoc = {
          ...run,
          backupId: evt.backupId,
          backupVerified: true,
          ...(waiting ? { stepState: 'dispatching' as const, dispatchedAt: new Date(this.#deps.clock()) } : {}),
        };
        if ((await this.#commit(rt, run, after)) && waiting) this.#send(rt, rt.runs.get(run._id) as HostRunDoc);
        return;
      }
      if (evt.state === BackupState.FAILED && run.stepState === 'awaiting-backup' && run.backupId === evt.backupId) {
        // A failure of the backup, not of the upgrade (which never ran): nothing to roll back.
        await this.#applyOutcome(
          rt,
          { ...run, step: 'backup' },
          {
            ok: false,
            kind: 'execution',
            code: 'BACKUP_NOT_VERIFIED',
            message: `the backup service did not verify backup ${evt.backupId}: ${evt.reason}`,
            retryable: false,
            report: '',
            startedAt: null,
          },
        );
      }
    });
  }

  /** In-memory progress of a running step (not persisted). */
  onProgress(evt: StepEvent): void {
    const ref = this.#byRunId.get(evt.runId);
    const rt = ref && this.plans.get(ref.planId);
    const run = rt?.runs.get(ref?.docId ?? '');
    if (!rt || !run || run.commandId !== evt.commandId) return;
    rt.progress.set(run._id, evt.percent);
  }

  async #applyOutcome(rt: PlanRuntime, run: HostRunDoc, result: StepResult): Promise<void> {
    const now = this.#deps.clock();
    const step = run.step as StepName;
    const spec = rt.plan.spec;
    const next = nextAfter(
      { step, attempt: run.attempt, ok: result.ok, retryable: result.retryable, kind: result.kind },
      { retries: spec.steps.retries, onFailure: spec.onFailure },
    );
    const record: StepRecord = {
      step,
      attempt: run.attempt,
      commandId: run.commandId,
      dispatchedAt: run.dispatchedAt ?? new Date(now),
      startedAt: result.startedAt === null ? run.stepStartedAt : new Date(result.startedAt),
      finishedAt: new Date(now),
      outcome: result.ok ? 'succeeded' : next.kind === 'defer' ? 'deferred' : 'failed',
      kind: result.kind,
      code: result.code,
      message: result.message.slice(0, 4000),
      report: result.report.slice(0, 64_000),
    };
    const slot = run.slots.length - 1;
    const failure = (): HostRunDoc['failure'] =>
      run.failure ?? {
        step,
        kind: result.kind ?? 'execution',
        code: result.code,
        message: record.message,
        seq: rt.nextSeq(),
        at: new Date(now),
      };
    const release = (): HostRunDoc['slots'] =>
      run.slots.map((s, i) => (i === slot ? { ...s, releasedSeq: rt.nextSeq(), releasedAt: new Date(now) } : s));
    const idle = { step: null, stepState: null, dispatchedAt: null, stepStartedAt: null, deadlineAt: null } as const;
    let after: HostRunDoc;
    switch (next.kind) {
      case 'dispatch': {
        // Nothing upgrades before the backup service has verified the backup it names.
        const backupId = step === 'backup' && result.ok ? backupIdOf(result.report) : '';
        const gate = backupId !== '' && next.step === 'upgrade' && !(run.backupVerified && run.backupId === backupId);
        after = {
          ...run,
          history: [...run.history, record],
          ...this.#stepFields(rt, run, slot, next.step, next.attempt, now),
          ...(backupId ? { backupId, backupVerified: run.backupVerified && run.backupId === backupId } : {}),
          ...(gate ? { stepState: 'awaiting-backup' as const } : {}),
          ...(next.failed ? { failure: failure(), rollback: next.step === 'rollback' ? 'running' : run.rollback } : {}),
        };
        break;
      }
      case 'defer':
        after = {
          ...run,
          ...idle,
          history: [...run.history, record],
          state: 'pending',
          notBefore: new Date(now + this.#cfg.clusterCheckDeferMs),
          deferrals: run.deferrals + 1,
          slots: release(),
        };
        break;
      case 'succeeded':
        after = { ...run, ...idle, history: [...run.history, record], state: 'succeeded', slots: release() };
        break;
      case 'failed':
        after = {
          ...run,
          ...idle,
          history: [...run.history, record],
          state: 'failed',
          failure: failure(),
          rollback: next.rollback,
          slots: release(),
        };
        break;
      case 'held':
        after = { ...run, ...idle, history: [...run.history, record], state: 'held', failure: failure() };
        break;
    }
    if (await this.#commit(rt, run, after)) {
      const stored = rt.runs.get(run._id) as HostRunDoc;
      if (stored.stepState === 'dispatching') this.#send(rt, stored);
      if (next.kind === 'failed' && next.rollback === 'failed') {
        this.#deps.log.error({ plan: rt.plan._id, host: run.hostId, message: result.message }, 'rollback failed: the host needs a human');
        this.#publishPlanEvent(rt, 'rollback-failed', `host ${run.hostId}: rollback failed: ${result.message}`);
      }
      if (isFinal(stored)) this.#deps.metrics.runsFinished.inc({ state: stored.state, rollback: stored.rollback });
      // Tells the backup service (and anyone else) that the run ended; retention starts.
      this.#outbox.add(stored);
    }
  }

  // ---------------------------------------------------------------- plan state

  async #savePlan(rt: PlanRuntime, changes: Partial<PlanDoc>): Promise<boolean> {
    return this.#withLock(`plan:${rt.plan._id}`, async () => {
      const before = rt.plan;
      try {
        const stored = await conditionalUpdate(
          this.#deps.models.Plan,
          { _id: before._id, version: before.version },
          { $set: { ...changes, updatedAt: new Date(this.#deps.clock()) } },
        );
        rt.plan = stored;
        this.events.emit('plan', rt.plan._id);
        return true;
      } catch (err) {
        if (!(err instanceof StaleWriteError)) throw err;
        const fresh = await this.#deps.models.Plan.findById(before._id).lean<PlanDoc>();
        if (fresh) rt.plan = fresh;
        return false;
      }
    });
  }

  #publishPlanEvent(rt: PlanRuntime, kind: string, message: string, actor = 'scheduler'): void {
    const c = rt.counters;
    const eventId = `${rt.plan._id}.${kind}.${rt.plan.version}.${c.failures}.${c.succeeded}`;
    this.#deps.bus
      .publishDurable(
        'planEvent',
        {
          eventId,
          planId: rt.plan._id,
          kind,
          state: rt.plan.state,
          waveIndex: rt.plan.openPhase,
          actor,
          message: message.slice(0, 4000),
          atMs: this.#deps.clock(),
          counters: {
            total: c.total,
            pending: c.pending,
            inFlight: c.inFlight,
            succeeded: c.succeeded,
            failed: c.failed,
            rolledBack: c.rolledBack,
            excluded: c.excluded,
            failedExecution: c.failuresByKind.execution,
            failedTimeout: c.failuresByKind.timeout,
            failedUnreachable: c.failuresByKind.unreachable,
          },
        },
        eventId,
      )
      .catch((err: Error) => this.#deps.log.warn({ err: err.message, kind }, 'plan event not published'));
  }

  async #setState(rt: PlanRuntime, state: PlanState, reason: string, extra: Partial<PlanDoc> = {}): Promise<void> {
    const final = state === 'completed' || state === 'aborted';
    const ok = await this.#savePlan(rt, {
      state,
      stateReason: reason,
      ...extra,
      ...(final ? { finishedAt: new Date(this.#deps.clock()) } : {}),
    });
    if (!ok) return;
    this.#publishPlanEvent(rt, state, reason);
    if (final) {
      this.removePlan(rt.plan._id);
      await Promise.allSettled([...this.#locks.values()]);
      await this.#compact(rt.plan._id, [...rt.runs.values()]);
    }
  }

  /** Plan-level decisions: completion, budget, the canary gate and opening waves. */
  async #advancePlan(rt: PlanRuntime, now: number): Promise<void> {
    const p = rt.plan;
    const c = rt.counters;
    const lastPhase = p.phases.length - 1;
    // A plan ends (and is compacted, out of the engine's view) only once every run's end
    // was announced: its outbox lives with the live plan.
    if (this.#outbox.announcing(p._id) && (p.state === 'aborting' || c.succeeded + c.failed + c.excluded === c.total)) return;
    if (p.state === 'aborting') {
      if (c.active === 0) await this.#setState(rt, 'aborted', p.stateReason || 'aborted');
      return;
    }
    if (c.succeeded + c.failed + c.excluded === c.total) {
      await this.#setState(rt, 'completed', c.failures > 0 ? `${c.failures} of ${c.total} hosts failed` : 'every host migrated');
      return;
    }
    if (p.state !== 'running') return;
    const exhausted = this.#budgetExhausted(rt);
    if (exhausted) {
      await this.#setState(rt, 'budget-exhausted', exhausted);
      return;
    }
    if (p.gate?.mode === 'auto') {
      if (p.gate.soakUntil && now >= p.gate.soakUntil.getTime()) {
        await this.#savePlan(rt, { openPhase: p.gate.phase, gate: null });
        this.#publishPlanEvent(rt, 'promoted', `soak over, ${p.phases[p.gate.phase]?.name ?? ''} opened`);
      }
      return;
    }
    if (p.gate || p.openPhase >= lastPhase) return;
    const open = rt.phases[p.openPhase];
    if (!open || open.started < open.size) return;
    if (p.openPhase === 0) {
      if (open.final < open.size) return;
      const failed = open.failed;
      const promotion = p.spec.promotion;
      if (failed > 0 || promotion.mode === 'manual') {
        const reason =
          failed > 0
            ? `canary: ${failed} of ${open.size} hosts failed; approve to go on or abort`
            : 'canary succeeded; approve to start wave 1';
        await this.#setState(rt, 'waiting-approval', reason, {
          gate: { phase: 1, mode: 'manual', since: new Date(now), soakUntil: null, reason },
        });
      } else {
        const soakUntil = new Date(now + promotion.soakSeconds * 1000);
        await this.#savePlan(rt, {
          gate: { phase: 1, mode: 'auto', since: new Date(now), soakUntil, reason: 'canary succeeded; soaking' },
        });
        this.#publishPlanEvent(rt, 'soaking', `canary succeeded; wave 1 starts at ${soakUntil.toISOString()}`);
      }
      return;
    }
    await this.#savePlan(rt, { openPhase: p.openPhase + 1 });
    this.#publishPlanEvent(rt, 'wave-started', `${p.phases[p.openPhase + 1]?.name ?? ''} opened`);
  }

  #budgetExhausted(rt: PlanRuntime): string | undefined {
    const c = rt.counters;
    const pending = c.pending > 0;
    if (!pending) return undefined;
    if (c.failures >= rt.plan.budget) return `error budget exhausted: ${c.failures} of ${rt.plan.budget} failures allowed`;
    for (let i = 0; i <= rt.plan.openPhase; i++) {
      const ph = rt.phases[i];
      const doc = rt.plan.phases[i];
      if (!ph || !doc) continue;
      const phasePending = ph.size - ph.started > 0;
      if (phasePending && ph.failed >= ph.budget)
        return `${doc.name} error budget exhausted: ${ph.failed} of ${ph.budget} failures allowed`;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- operator actions

  runtime(planId: string): PlanRuntime | undefined {
    return this.plans.get(planId);
  }

  /** The host's runs in live plans, with their live progress. */
  liveRunsOf(hostId: string): { run: HostRunDoc; percent: number | undefined }[] {
    const out: { run: HostRunDoc; percent: number | undefined }[] = [];
    for (const rt of this.plans.values()) {
      const run = rt.runs.get(`${rt.plan._id}/${hostId}`);
      if (run) out.push({ run, percent: rt.progress.get(run._id) });
    }
    return out;
  }

  /** The live plan that owns the host (a run of it that is not excluded, or a hold), if any. */
  livePlanOf(hostId: string): string | null {
    const held = this.#held.get(hostId);
    if (held !== undefined) return held;
    for (const rt of this.plans.values()) {
      const run = rt.runs.get(`${rt.plan._id}/${hostId}`);
      if (run && run.state !== 'excluded') return rt.plan._id;
    }
    return null;
  }

  #live(planId: string): PlanRuntime {
    const rt = this.plans.get(planId);
    if (!rt) throw new PlanConflictError(`plan ${planId} is not live (finished, or unknown)`);
    return rt;
  }

  async pause(planId: string, actor: string): Promise<PlanDoc> {
    const rt = this.#live(planId);
    if (!['running', 'waiting-approval'].includes(rt.plan.state))
      throw new PlanConflictError(`cannot pause a plan that is ${rt.plan.state}`);
    await this.#setState(rt, 'paused', `paused by ${actor}`);
    await this.#deps.audit.record(actor, 'plan.pause', { planId });
    return rt.plan;
  }

  async resume(planId: string, actor: string): Promise<PlanDoc> {
    const rt = this.#live(planId);
    if (rt.plan.state !== 'paused' && rt.plan.state !== 'budget-exhausted')
      throw new PlanConflictError(`cannot resume a plan that is ${rt.plan.state}`);
    if (rt.plan.state === 'budget-exhausted') {
      const still = this.#budgetExhausted(rt);
      if (still) throw new PlanConflictError(`${still}; retry failed hosts, exclude hosts or abort`);
    }
    const gate = rt.plan.gate;
    await this.#setState(rt, gate?.mode === 'manual' ? 'waiting-approval' : 'running', `resumed by ${actor}`);
    await this.#deps.audit.record(actor, 'plan.resume', { planId });
    return rt.plan;
  }

  async approve(planId: string, actor: string): Promise<PlanDoc> {
    const rt = this.#live(planId);
    if (rt.plan.state !== 'waiting-approval' || !rt.plan.gate)
      throw new PlanConflictError(`plan is ${rt.plan.state}; there is no gate to approve`);
    const phase = rt.plan.gate.phase;
    await this.#setState(rt, 'running', `${rt.plan.phases[phase]?.name ?? 'next wave'} approved by ${actor}`, {
      openPhase: phase,
      gate: null,
    });
    await this.#deps.audit.record(actor, 'plan.approve', { planId, details: { phase } });
    return rt.plan;
  }

  async abort(planId: string, actor: string, inFlight: 'finish' | 'rollback'): Promise<PlanDoc> {
    const rt = this.#live(planId);
    if (rt.plan.state === 'aborting') throw new PlanConflictError('plan is already aborting');
    await this.#setState(rt, 'aborting', `aborted by ${actor}; hosts in flight ${inFlight === 'finish' ? 'finish' : 'roll back'}`, {
      abortMode: inFlight,
    });
    await this.#deps.audit.record(actor, 'plan.abort', { planId, details: { inFlight } });
    if (inFlight === 'rollback') {
      for (const docId of [...rt.active]) {
        // Not awaited (the operator gets the plan at once); a failed write leaves the run
        // active, and the deadline and heartbeat supervision of the aborting plan go on.
        void this.#withLock(docId, async () => {
          const run = rt.runs.get(docId) as HostRunDoc;
          if (run.state !== 'active' || run.step === 'rollback' || !run.step) return;
          this.#cancel(run, 'plan aborted');
          await this.#abortRun(rt, run);
        }).catch((err: Error) => this.#deps.log.error({ err: err.message, run: docId }, 'abort of a host in flight not recorded'));
      }
    }
    return rt.plan;
  }

  /** Abort with rollback: a host not yet changed is released; a changed one rolls back. */
  async #abortRun(rt: PlanRuntime, run: HostRunDoc): Promise<void> {
    const now = this.#deps.clock();
    const changed = ['upgrade', 'reboot', 'postcheck'].includes(run.step as string);
    const slot = run.slots.length - 1;
    const after: HostRunDoc = changed
      ? {
          ...run,
          ...this.#stepFields(rt, run, slot, 'rollback', 1, now),
          failure: run.failure ?? {
            step: run.step as StepName,
            kind: 'execution',
            code: 'PLAN_ABORTED',
            message: 'plan aborted',
            seq: rt.nextSeq(),
            at: new Date(now),
          },
          rollback: 'running',
        }
      : {
          ...run,
          state: 'pending',
          step: null,
          stepState: null,
          dispatchedAt: null,
          stepStartedAt: null,
          deadlineAt: null,
          slots: run.slots.map((s, i) => (i === slot ? { ...s, releasedSeq: rt.nextSeq(), releasedAt: new Date(now) } : s)),
        };
    if ((await this.#commit(rt, run, after)) && changed) this.#send(rt, rt.runs.get(run._id) as HostRunDoc);
  }

  async retryFailed(planId: string, actor: string): Promise<{ retried: number }> {
    const rt = this.#live(planId);
    if (rt.plan.state === 'aborting') throw new PlanConflictError('cannot retry hosts of an aborting plan');
    const failed = [...rt.runs.values()].filter((r) => r.state === 'failed');
    let retried = 0;
    await Promise.all(
      failed.map((r) =>
        this.#withLock(r._id, async () => {
          const run = rt.runs.get(r._id) as HostRunDoc;
          if (run.state !== 'failed') return;
          const after: HostRunDoc = {
            ...run,
            state: 'pending',
            runId: newRunId(),
            previousRunIds: [...run.previousRunIds, run.runId],
            failure: null,
            rollback: 'none',
            notBefore: null,
          };
          if (await this.#commit(rt, run, after)) retried++;
        }),
      ),
    );
    await this.#deps.audit.record(actor, 'plan.retry-failed', { planId, details: { retried } });
    if (rt.plan.state === 'budget-exhausted' && !this.#budgetExhausted(rt))
      await this.#setState(rt, 'running', `${retried} failed hosts retried by ${actor}`);
    return { retried };
  }

  async exclude(planId: string, hostId: string, actor: string): Promise<HostRunDoc> {
    const rt = this.#live(planId);
    const docId = `${planId}/${hostId}`;
    return this.#withLock(docId, async () => {
      const run = rt.runs.get(docId);
      if (!run) throw new PlanConflictError(`host ${hostId} is not in plan ${planId}`);
      if (run.state !== 'pending') throw new PlanConflictError(`host ${hostId} is ${run.state}; only a pending host can be excluded`);
      if (!(await this.#commit(rt, run, { ...run, state: 'excluded' })))
        throw new PlanConflictError(`host ${hostId} changed meanwhile; try again`);
      await this.#deps.audit.record(actor, 'plan.exclude-host', { planId, hostId });
      return rt.runs.get(docId) as HostRunDoc;
    });
  }

  /** For a held host: roll back, or run the failed step again. */
  async resolveHeld(planId: string, hostId: string, actor: string, action: 'rollback' | 'retry'): Promise<HostRunDoc> {
    const rt = this.#live(planId);
    const docId = `${planId}/${hostId}`;
    return this.#withLock(docId, async () => {
      const run = rt.runs.get(docId);
      if (run?.state !== 'held' || !run.failure) throw new PlanConflictError(`host ${hostId} is not held in plan ${planId}`);
      const now = this.#deps.clock();
      const slot = run.slots.length - 1;
      const lastAttempt = run.history.filter((h) => h.step === run.failure?.step).at(-1)?.attempt ?? 1;
      const after: HostRunDoc =
        action === 'rollback'
          ? { ...run, state: 'active', ...this.#stepFields(rt, run, slot, 'rollback', 1, now), rollback: 'running' }
          : { ...run, state: 'active', ...this.#stepFields(rt, run, slot, run.failure.step, lastAttempt + 1, now), failure: null };
      if (!(await this.#commit(rt, run, after))) throw new PlanConflictError(`host ${hostId} changed meanwhile; try again`);
      this.#send(rt, rt.runs.get(docId) as HostRunDoc);
      await this.#deps.audit.record(actor, `host.${action}`, { planId, hostId });
      return rt.runs.get(docId) as HostRunDoc;
    });
  }
}

/** The backup id a backup step reported (the migration driver's report names it). */
function backupIdOf(report: string): string {
  try {
    const id = (JSON.parse(report) as { backup?: { id?: unknown } }).backup?.id;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}
