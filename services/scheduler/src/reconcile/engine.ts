// The level-triggered engine: every tick it compares what each live plan wants with what
// its hosts are doing, takes new hosts within every limit, supervises steps in flight
// (deadlines, lost agents, re-sends) and moves plans through their gates. Step outcomes
// arrive from the durable event consumer. Every change is one conditional write; a
// command id is derived from the run, its slot, the step and the attempt, so a command
// re-sent after a restart is recognised by the agent and never runs twice.
//
// This class coordinates; the decisions are pure functions beside it (admission.ts,
// supervision.ts, plan-progress.ts, host-runs/outcomes.ts, host-runs/run-changes.ts) and
// the effects live in LiveState, Dispatcher, PlanWriter and OperatorActions.
import { type BackupEvent, type Bus, FailureKind, inTraceOf, type Logger, type StepEvent, StepPhase } from '@yixing/common';
import type { AuditLog } from '../audit/audit-log.ts';
import type { FailureKindName, HostRunDoc, Models, PlanDoc, PlanState } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { foreignSender, stepStartedAt } from '../host-runs/event-sender.ts';
import { afterBackupEvent, afterOutcome, type StepResult } from '../host-runs/outcomes.ts';
import { awaitsOutcome, isInStep, type RunInStep } from '../host-runs/run-changes.ts';
import { runEndSpan } from '../host-runs/run-end-span.ts';
import { hostRunEventOf, reannouncements } from '../host-runs/run-events.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { SchedulerMetrics } from '../metrics.ts';
import { operationChangeOf, operationEventOf } from '../operations/operation-events.ts';
import { windowNotice } from '../plans/windows.ts';
import { pickHosts } from './admission.ts';
import { Compactor } from './compactor.ts';
import { Dispatcher } from './dispatcher.ts';
import { predictSeconds, sizeOfFacts } from './duration-prediction.ts';
import type { EngineConfig } from './engine-config.ts';
import { OutcomeNotStoredError } from './errors.ts';
import { Housekeeping } from './housekeeping.ts';
import { type Leader, soleLeader } from './leader.ts';
import { LiveState } from './live-state.ts';
import { OperatorActions } from './operator-actions.ts';
import { nextPlanStep } from './plan-progress.ts';
import { isFinal, type PlanRuntime } from './plan-runtime.ts';
import { PlanWriter } from './plan-writer.ts';
import { RunFinishedOutbox } from './run-finished-outbox.ts';
import { supervise } from './supervision.ts';

export type { StepResult } from '../host-runs/outcomes.ts';
export { defaultEngineConfig, type EngineConfig } from './engine-config.ts';
export { PlanConflictError } from './errors.ts';
export type { EngineEvents } from './live-state.ts';

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
  /** Whether this replica may act, and its fencing epoch (absent: a scheduler alone). */
  leader?: Leader;
}

const FINAL_PLAN: ReadonlySet<PlanState> = new Set(['completed', 'aborted']);
/** Outcomes stored this close to the latest one are announced again at a start. */
const REANNOUNCE_WINDOW_MS = 5 * 60_000;
const KIND_NAME: Record<number, FailureKindName> = {
  [FailureKind.EXECUTION]: 'execution',
  [FailureKind.TIMEOUT]: 'timeout',
  [FailureKind.UNREACHABLE]: 'unreachable',
};

export class Engine {
  readonly #deps: EngineDeps;
  readonly #live: LiveState;
  readonly #dispatcher: Dispatcher;
  readonly #planWriter: PlanWriter;
  readonly #actions: OperatorActions;
  readonly #outbox: RunFinishedOutbox;
  readonly #housekeeping: Housekeeping;
  readonly #compactor: Compactor;
  readonly #startedAt: number;
  readonly #leader: Leader;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;

  constructor(deps: EngineDeps) {
    const { config } = deps;
    this.#deps = deps;
    this.#leader = deps.leader ?? soleLeader;
    this.#startedAt = deps.clock();
    const live = new LiveState(deps.runs, (rt, before, stored) => this.#announceChange(rt, before, stored));
    this.#live = live;
    this.#outbox = new RunFinishedOutbox({ ...deps, retryMs: config.announceRetryMs });
    this.#housekeeping = new Housekeeping({ ...deps, outbox: this.#outbox, planRequestTtlMs: config.planRequestTtlMs });
    this.#dispatcher = new Dispatcher({ ...deps, leader: this.#leader, live, onBackupStatus: (evt) => this.applyBackupEvent(evt) });
    this.#compactor = new Compactor({ runs: deps.runs, settle: () => live.settle(), log: deps.log });
    this.#planWriter = new PlanWriter({ ...deps, leader: this.#leader, live, compactor: this.#compactor });
    this.#actions = new OperatorActions({ ...deps, live, dispatcher: this.#dispatcher, plans: this.#planWriter });
  }

  get events(): LiveState['events'] {
    return this.#live.events;
  }

  get plans(): ReadonlyMap<string, PlanRuntime> {
    return this.#live.plans;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Rebuilds the mirror of every live plan from the database. A leader that takes over
   * fences each plan first (its run tickets and its document), then reads: what the
   * deposed leader writes after that is refused or does not count (db/run-versions.ts).
   */
  async load(): Promise<void> {
    const { models, runs } = this.#deps;
    const found = await models.Plan.find({ state: { $nin: [...FINAL_PLAN] } }).lean<PlanDoc[]>();
    await runs.fencePlans(found.map((p) => p._id));
    const plans: PlanDoc[] = [];
    for (const plan of found) plans.push(await this.#planWriter.fence(plan));
    for (const plan of plans) this.addPlan(plan, await runs.loadPlan(plan._id));
    await this.#outbox.load([...this.plans.values()].flatMap((rt) => [...rt.runs.values()]));
    this.#reannounce();
    // Operations that ended in the last moments: their end may not have been announced.
    const recent = await models.Plan.find({
      operation: { $exists: true },
      finishedAt: { $gte: new Date(this.#deps.clock() - REANNOUNCE_WINDOW_MS) },
    }).lean<PlanDoc[]>();
    for (const plan of recent) {
      const run = (await runs.loadPlan(plan._id))[0];
      if (plan.operation && run) this.#publishOperationEvent(operationEventOf(plan, plan.operation, run, this.#deps.clock(), true));
    }
    // A plan that ended just before a crash may still hold versions: compact it again.
    const ended = await models.RunState.distinct('planId', { planId: { $nin: plans.map((p) => p._id) } });
    for (const planId of ended as string[]) this.#compactor.enqueue(planId, () => runs.loadPlan(planId));
  }

  addPlan(plan: PlanDoc, runs: HostRunDoc[]): void {
    this.#live.addPlan(plan, runs);
  }

  /** Takes a plan out of the engine: undoes everything addPlan and its runs' changes did. */
  removePlan(planId: string): void {
    this.#live.removePlan(planId);
  }

  /** Holds hosts for a plan whose creation is not settled: no other plan may take them meanwhile. */
  holdHosts(planId: string, hostIds: string[]): void {
    this.#live.holdHosts(planId, hostIds);
  }

  releaseHosts(planId: string): void {
    this.#live.releaseHosts(planId);
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.tick().catch((err: Error) => this.#deps.log.error({ err: err.message }, 'tick failed'));
    }, this.#deps.config.tickMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#compactor.stop();
    await this.#live.settle();
  }

  /** Resolves once every ended plan queued for compaction is compacted (or given up until the next start). */
  compacted(): Promise<void> {
    return this.#compactor.idle();
  }

  // ---------------------------------------------------------------- the loop

  async tick(): Promise<void> {
    // A leader that could not renew its lease in time stops acting at once.
    if (this.#ticking || !this.#leader.isLeader()) return;
    this.#ticking = true;
    const started = performance.now();
    try {
      const now = this.#deps.clock();
      this.#outbox.tick(now);
      // Plans being compacted count as live: their last announcements may still be pending.
      this.#housekeeping.tick(now, () => [...this.plans.keys(), ...this.#live.ending.keys()]);
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

  #takeHosts(rt: PlanRuntime, now: number): void {
    const { inventory, config } = this.#deps;
    const fleet = {
      isOccupied: (hostId: string) => this.#live.isOccupied(hostId),
      members: (domain: 'cluster' | 'zone' | 'rack', name: string) => inventory.members(domain, name),
      isAlive: (hostId: string) => inventory.isAlive(hostId, config.heartbeatGraceMs),
      rolesOf: (hostId: string) => inventory.get(hostId)?.facts.roles ?? [],
      inFlightIn: (domain: 'cluster' | 'zone' | 'rack', name: string) => {
        let n = 0;
        for (const other of this.plans.values()) n += other.inFlightByDomain.get(`${domain}:${name}`) ?? 0;
        return n;
      },
    };
    // Longest first: each host's duration predicted from its size, once, when the plan is first read.
    if (!rt.pendingQueues.predicted)
      rt.pendingQueues.predictWith((run) => predictSeconds({ size: sizeOfFacts(inventory.get(run.hostId)?.facts) }), rt.runs.values());
    const { take } = pickHosts(rt, fleet, now);
    for (const run of take) this.#dispatcher.take(rt, run, now);
  }

  #supervise(rt: PlanRuntime, now: number): void {
    const { inventory, config } = this.#deps;
    const ctx = {
      now,
      startedAt: this.#startedAt,
      limits: config,
      isAlive: (hostId: string) => inventory.isAlive(hostId, config.heartbeatGraceMs, now),
    };
    for (const docId of rt.active) {
      const run = rt.run(docId);
      const verdict = supervise(run, this.#dispatcher.sentOf(run), ctx);
      if (verdict.kind === 'fail') this.#failFromScheduler(rt, run, verdict.failure, verdict.code, verdict.message);
      else if (verdict.kind === 'ask-backup') this.#dispatcher.askBackupStatus(run, now);
      // A re-send is a send: the dispatcher keeps the command's first send time.
      else if (verdict.kind === 'send') this.#dispatcher.send(rt, run);
    }
  }

  #failFromScheduler(rt: PlanRuntime, run: HostRunDoc, kind: FailureKindName, code: string, message: string): void {
    const commandId = run.commandId;
    void this.#live
      .withLock(run._id, async () => {
        const current = rt.run(run._id);
        if (current.commandId !== commandId || current.state !== 'active' || !isInStep(current)) return;
        this.#dispatcher.cancel(current, message);
        const result = { ok: false, kind, code, message, retryable: kind !== 'unreachable', report: '', startedAt: null };
        await this.#applyOutcome(rt, current, result);
      })
      .catch((err: Error) => this.#deps.log.error({ err: err.message, run: run._id }, 'failure not recorded'));
  }

  /** Plan-level decisions (plan-progress.ts), stored; hosts in flight as a window closes, announced. */
  async #advancePlan(rt: PlanRuntime, now: number): Promise<void> {
    const notice = windowNotice(rt.plan.spec.windows, rt.plan.spec.windowCutoffMinutes, rt.counters.inFlight, now, rt.windowWarned);
    rt.windowWarned = notice.warn;
    if (notice.event) this.#planWriter.publish(rt, notice.event.kind, notice.event.message);
    const step = nextPlanStep(rt, now, this.#outbox.announcing(rt.plan._id));
    if (step.kind === 'state') {
      await this.#planWriter.setState(rt, step.state, step.reason, step.changes);
      // An operation is over when its plan is: its host is free for the next one.
      const op = rt.plan.operation;
      const run = op && FINAL_PLAN.has(rt.plan.state) ? [...rt.runs.values()][0] : undefined;
      if (op && run) this.#publishOperationEvent(operationEventOf(rt.plan, op, run, this.#deps.clock(), true));
    }
    if (step.kind === 'save') {
      await this.#planWriter.save(rt, step.changes);
      this.#planWriter.publish(rt, step.event.kind, step.event.message);
    }
  }

  // ---------------------------------------------------------------- events

  /**
   * An event from a host other than its run's changes nothing: counted and logged, and
   * true is returned so that the caller drops it.
   */
  #foreign(route: 'stepEvent' | 'backupEvent', run: HostRunDoc, sender: string): boolean {
    const problem = foreignSender(run, sender);
    if (!problem) return false;
    this.#deps.metrics.eventsRefused.inc({ route, reason: 'other-host' });
    this.#deps.log.warn({ route, sender, host: run.hostId, run: run.runId }, `event refused: ${problem}`);
    return true;
  }

  /** Applies a step event from the stream. Resolves once its effect is stored. */
  applyStepEvent(evt: StepEvent): Promise<void> {
    const where = this.#live.locate(evt.runId);
    if (!where) return Promise.resolve();
    const { rt, docId } = where;
    return this.#live.withLock(docId, async () => {
      const run = rt.run(docId);
      if (this.#foreign('stepEvent', run, evt.hostId)) return;
      // An event of an older command (a replay, a duplicate) changes nothing.
      if (!awaitsOutcome(run, evt.commandId)) return;
      if (evt.phase === StepPhase.RUNNING) {
        if (evt.kindToken === 'started' && run.stepState === 'dispatching') {
          this.#dispatcher.acknowledged(run);
          if (run.dispatchedAt)
            this.#deps.metrics.dispatchSeconds.observe({ step: run.step }, (this.#deps.clock() - run.dispatchedAt.getTime()) / 1000);
          this.#live.replace(rt, { ...run, stepState: 'running', stepStartedAt: stepStartedAt(run, evt.atMs, this.#deps.clock()) });
        }
        return;
      }
      const ok = evt.phase === StepPhase.SUCCEEDED;
      const outcome = ok ? 'succeeded' : 'failed';
      const now = this.#deps.clock();
      this.#deps.metrics.stepOutcomes.inc({ step: run.step, outcome });
      this.#deps.metrics.eventLagSeconds.observe(Math.max(0, now - evt.atMs) / 1000);
      if (run.stepStartedAt)
        this.#deps.metrics.stepSeconds.observe(
          { profile: rt.plan.spec.profile, step: run.step, outcome },
          (now - run.stepStartedAt.getTime()) / 1000,
        );
      const stored = await this.#applyOutcome(rt, run, {
        ok,
        kind: ok ? null : (KIND_NAME[evt.error?.kind ?? FailureKind.EXECUTION] ?? 'execution'),
        code: evt.error?.code ?? '',
        message: evt.error?.message ?? evt.message,
        retryable: evt.error?.retryable ?? false,
        report: evt.reportJson,
        startedAt: run.stepStartedAt?.getTime() ?? null,
      });
      // Refused as stale, yet the run (reloaded) still awaits this outcome: the version it
      // met never counted (this outcome's own earlier try, cut off with the store). Acked
      // now, the event would be lost and the run wait for it forever: let it come again.
      if (!stored && awaitsOutcome(rt.run(docId), evt.commandId))
        throw new OutcomeNotStoredError(`run ${docId}: the outcome of ${evt.commandId} met an uncounted version; applied again`);
    });
  }

  /**
   * The backup service verified (or failed) a backup: recorded on its run; an upgrade
   * waiting for it is dispatched (or the run fails: no upgrade without a verified backup).
   */
  applyBackupEvent(evt: Pick<BackupEvent, 'hostId' | 'runId' | 'backupId' | 'state' | 'reason'>): Promise<void> {
    const where = this.#live.locate(evt.runId);
    if (!where) return Promise.resolve();
    const { rt, docId } = where;
    return this.#live.withLock(docId, async () => {
      const run = rt.run(docId);
      if (this.#foreign('backupEvent', run, evt.hostId)) return;
      const verdict = afterBackupEvent(run, evt, this.#deps.clock());
      if (verdict.kind === 'failed') await this.#applyOutcome(rt, verdict.run, verdict.result);
      if (verdict.kind === 'verified' && (await this.#live.commit(rt, run, verdict.after)) && verdict.dispatch)
        this.#dispatcher.send(rt, rt.run(docId));
    });
  }

  /** In-memory progress of a running step (not persisted). */
  onProgress(evt: StepEvent): void {
    const where = this.#live.locate(evt.runId);
    const run = where?.rt.runs.get(where.docId);
    if (!where || !run || run.commandId !== evt.commandId || run.hostId !== evt.hostId) return;
    where.rt.progress.set(run._id, evt.percent);
  }

  /**
   * Stores a step's result on its run (host-runs/outcomes.ts), then sends its next step and
   * announces its end; false when the write was refused as stale (nothing done).
   */
  async #applyOutcome(rt: PlanRuntime, run: RunInStep, result: StepResult): Promise<boolean> {
    const { config, metrics, log } = this.#deps;
    const spec = rt.plan.spec;
    const ctx = {
      ...rt.changeContext(this.#deps.clock(), config.deadlineGraceMs),
      policy: { retries: spec.steps.retries, onFailure: spec.onFailure },
      clusterCheckDeferMs: config.clusterCheckDeferMs,
    };
    const { next, after } = afterOutcome(run, result, ctx);
    if (!(await this.#live.commit(rt, run, after))) return false;
    const stored = rt.run(run._id);
    if (stored.stepState === 'dispatching') this.#dispatcher.send(rt, stored);
    if (next.kind === 'failed' && next.rollback === 'failed') {
      log.error({ plan: rt.plan._id, host: run.hostId, message: result.message }, 'rollback failed: the host needs a human');
      this.#planWriter.publish(rt, 'rollback-failed', `host ${run.hostId}: rollback failed: ${result.message}`);
    }
    if (isFinal(stored)) metrics.runsFinished.inc({ state: stored.state, rollback: stored.rollback });
    // Tells the backup service (and anyone else) that the run ended; retention starts.
    this.#outbox.add(stored);
    return true;
  }

  /** The last moments' outcomes again after a start (run-events.ts reannouncements): a crash may have lost their events. */
  #reannounce(): void {
    const byPlan = [...this.plans.values()].flatMap((rt) => [...rt.runs.values()].map((run) => ({ rt, run })));
    const waveOf = new Map(byPlan.map(({ rt, run }) => [run, rt.plan.phases[run.phase]?.name ?? '']));
    const events = reannouncements(
      byPlan.map((r) => r.run),
      (run) => waveOf.get(run) ?? '',
      REANNOUNCE_WINDOW_MS,
    );
    // Each in its run's trace, as the first announcement was: alerting's evaluation of it
    // lands there too.
    const traceOf = new Map(byPlan.map(({ run }) => [run.runId, run.traceparent]));
    for (const evt of events)
      inTraceOf(traceOf.get(evt.runId ?? ''), () =>
        this.#deps.bus
          .publishDurable('hostRunEvent', evt, evt.eventId)
          .catch((err: Error) => this.#deps.log.warn({ err: err.message, host: evt.hostId }, 'host-run event not announced again')),
      );
    if (events.length > 0) this.#deps.log.info({ events: events.length }, 'announced the latest step outcomes again');
    // An operation's state is announced again too (its callback may hang on it); the
    // stream drops it within its duplicate window, a callback receiver by its event id.
    for (const rt of this.plans.values()) {
      const op = rt.plan.operation;
      const run = op ? [...rt.runs.values()][0] : undefined;
      if (op && run) this.#publishOperationEvent(operationEventOf(rt.plan, op, run, this.#deps.clock(), false));
    }
  }

  #publishOperationEvent(evt: ReturnType<typeof operationEventOf>): void {
    this.#deps.bus
      .publishDurable('operationEvent', evt, evt.eventId)
      .catch((err: Error) => this.#deps.log.warn({ err: err.message, operation: evt.operationId }, 'operation event not published'));
  }

  /**
   * Publishes a stored change's event (host-runs/run-events.ts) for alerting and the
   * console. Best effort, like plan events: the run's state is stored either way; a start
   * announces the last moments' outcomes again.
   */
  #announceChange(rt: PlanRuntime, before: HostRunDoc, stored: HostRunDoc): void {
    const op = operationChangeOf(rt.plan, before, stored, this.#deps.clock());
    if (op) this.#publishOperationEvent(op);
    const evt = hostRunEventOf(before, stored, rt.plan.phases[stored.phase]?.name ?? '', this.#deps.clock());
    // The event joins the run's trace (under its end span when it ends the run), so what
    // alerting does with it is in the trace too.
    const end = runEndSpan(before, stored);
    const publish = (): void => {
      if (!evt) return;
      this.#deps.bus
        .publishDurable('hostRunEvent', evt, evt.eventId)
        .catch((err: Error) => this.#deps.log.warn({ err: err.message, run: stored._id }, 'host-run event not published'));
    };
    if (end) end.span.run(publish);
    else inTraceOf(stored.traceparent, publish);
    end?.span.end(end.failure);
  }

  // ---------------------------------------------------------------- operator actions (operator-actions.ts)

  runtime(planId: string): PlanRuntime | undefined {
    return this.#live.plans.get(planId);
  }

  /** A plan that just ended, while its runs are compacted: its final state, for views only. */
  endingRuntime(planId: string): PlanRuntime | undefined {
    return this.#live.ending.get(planId);
  }

  liveRunsOf(hostId: string): { run: HostRunDoc; percent: number | undefined }[] {
    return this.#live.liveRunsOf(hostId);
  }

  livePlanOf(hostId: string): string | null {
    return this.#live.livePlanOf(hostId);
  }

  pause(planId: string, actor: string): Promise<PlanDoc> {
    return this.#actions.pause(planId, actor);
  }

  resume(planId: string, actor: string): Promise<PlanDoc> {
    return this.#actions.resume(planId, actor);
  }

  approve(planId: string, actor: string): Promise<PlanDoc> {
    return this.#actions.approve(planId, actor);
  }

  abort(planId: string, actor: string, inFlight: 'finish' | 'rollback'): Promise<PlanDoc> {
    return this.#actions.abort(planId, actor, inFlight);
  }

  retryFailed(planId: string, actor: string): Promise<{ retried: number }> {
    return this.#actions.retryFailed(planId, actor);
  }

  exclude(planId: string, hostId: string, actor: string): Promise<HostRunDoc> {
    return this.#actions.exclude(planId, hostId, actor);
  }

  resolveHeld(planId: string, hostId: string, actor: string, action: 'rollback' | 'retry'): Promise<HostRunDoc> {
    return this.#actions.resolveHeld(planId, hostId, actor, action);
  }
}
