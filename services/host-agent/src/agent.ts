// One host's agent: registers, heartbeats, takes commands addressed to its host only,
// runs steps through its driver, streams progress and logs, and persists the step in
// flight so that after a crash or a reboot it resumes or reports exactly where it stopped.

import type { Subscription } from '@nats-io/transport-node';
import {
  type AgentCommand,
  type Bus,
  clip,
  currentTraceparent,
  FailureKind,
  type HostFacts,
  type HostLabels,
  type Logger,
  LogStream,
  outsideTraces,
  patterns,
  StepPhase,
  startSpan,
  stepEnum,
  stepName,
  YxError,
} from '@yixing/common';
import type { Driver, StepContext, StepFailure, StepOutcome } from './drivers/driver.ts';
import type { Journal } from './journal.ts';
import { admitEpoch } from './leader-epoch.ts';
import { runProbe } from './probe.ts';
import {
  type AgentState,
  type AgentStateStore,
  continuedRunData,
  type FinishedStep,
  type InFlightStep,
  withRunValue,
} from './state/agent-state.store.ts';
import { decideCancel } from './step-cancel.ts';

/** The machine the agent runs on: its boot identity and how to reboot it. */
export interface HostEnv {
  bootId(): string;
  /** False for a chroot or container root: there is no machine to reboot. */
  rebootable: boolean;
  /** Reboots the host. The agent's process is expected to end; it resumes on start. */
  reboot(): Promise<void>;
}

export interface AgentIdentity {
  hostId: string;
  agentVersion: string;
  facts: { hostname: string; osId: string; osVersion: string; arch: string; kernel: string; roles?: string[] };
  labels: { pool: string; cluster: string; zone: string; rack: string; role: string; extra?: Record<string, string> };
}

export interface AgentDeps {
  bus: Bus;
  identity: AgentIdentity;
  driver: Driver;
  store: AgentStateStore;
  host: HostEnv;
  journal: Journal;
  /** Counts failed journal appends (the agent goes on without the record). */
  journalFailures?: { inc(): void };
  log: Logger;
  clock?: () => number;
  heartbeatIntervalMs: number;
  /** Backoff between registration attempts while the scheduler does not answer. */
  registerRetryMs?: number;
  /**
   * The host's roles and the digest of what the assessment reads, sent at registration
   * (HostFacts.roles, facts_digest). Absent: the identity's roles, no digest.
   */
  facts?: () => Promise<RefreshedFacts>;
  /** How often facts() is read again; a changed digest registers the host again. 0: never. Default 5 min. */
  factsRefreshMs?: number;
}

/** What an agent reads again while it runs: the roles found and the digest of the assessed facts. */
export interface RefreshedFacts {
  roles: string[];
  factsDigest: string;
}

export const DEFAULT_FACTS_REFRESH_MS = 300_000;

type RollbackRequirement = NonNullable<StepContext['rollbackRequired']>;

/**
 * The step in flight with the rollback strategy its plan requires. Persisted with the
 * step (the state store writes it whole), so a step resumed after a crash keeps it.
 */
type StepInFlight = InFlightStep & { rollbackRequired?: RollbackRequirement };

/**
 * The plan's rollback requirement as a driver reads it. "any" and empty (a scheduler that
 * predates the field) require nothing of their own: the profile's requirement applies.
 * The bus has checked the value against the field's rule.
 */
export function planRollbackRequirement(wire: string): RollbackRequirement | undefined {
  return wire === 'snapshot' || wire === 'packages' ? wire : undefined;
}

/**
 * A precheck's report with the digest of the facts it assessed (unless the driver wrote
 * one): the scheduler does not assess a host again while its registered digest equals it. Pure.
 */
export function withFactsDigest(outcome: StepOutcome, digest: string | undefined): StepOutcome {
  const report = outcome.report;
  if (!digest || typeof report !== 'object' || report === null || Array.isArray(report) || 'factsDigest' in report) return outcome;
  return { ...outcome, report: { ...report, factsDigest: digest } };
}

const FAILURE_TOKEN = { [StepPhase.SUCCEEDED]: 'succeeded', [StepPhase.FAILED]: 'failed' } as const;

export class HostAgent {
  readonly hostId: string;
  readonly #deps: AgentDeps;
  readonly #now: () => number;
  #state: AgentState = { hostId: '', recent: [] };
  #sub: Subscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #seq = 0;
  #logSeq = 0;
  #running: { commandId: string; abort: AbortController; done: Promise<void> } | undefined;
  #lock: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #registered = false;
  #facts: RefreshedFacts | undefined;
  /** The digest the scheduler accepted last. */
  #registeredDigest: string | undefined;
  #registering: Promise<void> | undefined;
  #factsTimer: NodeJS.Timeout | undefined;
  #refreshing = false;

  constructor(deps: AgentDeps) {
    this.#deps = deps;
    this.hostId = deps.identity.hostId;
    this.#now = deps.clock ?? Date.now;
  }

  get registered(): boolean {
    return this.#registered;
  }

  start(): Promise<void> {
    // Long-lived: its timers and subscription belong to no step's trace, whoever starts it.
    return outsideTraces(() => this.#start());
  }

  async #start(): Promise<void> {
    this.#stopped = false;
    this.#state = await this.#deps.store.load();
    this.#sub = this.#deps.bus.subscribe('agentCommand', { hostId: this.hostId }, (cmd, delivery) =>
      this.#serialize(() => this.#onCommand(cmd, (ack) => delivery.respond(ack))),
    );
    this.#heartbeat = setInterval(() => this.#sendHeartbeat(), this.#deps.heartbeatIntervalMs);
    this.#heartbeat.unref();
    this.#sendHeartbeat();
    this.#register(true);
    const refreshMs = this.#deps.factsRefreshMs ?? DEFAULT_FACTS_REFRESH_MS;
    if (this.#deps.facts && refreshMs > 0) {
      this.#factsTimer = setInterval(() => this.#refreshFactsAndRegister(), refreshMs);
      this.#factsTimer.unref();
    }
    await this.#serialize(() => this.#recover());
  }

  /** Stops taking commands and heartbeating. A running step is aborted without a report. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#factsTimer);
    this.#sub?.unsubscribe();
    const running = this.#running;
    if (running) {
      running.abort.abort(new Error('agent stopping'));
      await running.done.catch(() => undefined);
    }
  }

  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  /** Registers in the background (reading the facts first when `readFacts`), unless a registration is under way. */
  #register(readFacts: boolean): void {
    if (this.#registering) return;
    this.#registering = (async () => {
      if (readFacts) await this.#readFacts();
      await this.#registerUntilAccepted();
    })()
      .catch((err: Error) => this.#deps.log.error({ hostId: this.hostId, err: err.message }, 'registration stopped; heartbeats go on'))
      .finally(() => {
        this.#registering = undefined;
      });
  }

  /** Reads the facts again (at most one read at a time); a changed digest registers the host again. */
  #refreshFactsAndRegister(): void {
    if (this.#refreshing || this.#stopped) return;
    this.#refreshing = true;
    this.#refreshFacts().finally(() => {
      this.#refreshing = false;
    });
  }

  /** Never rejects. A digest other than the one registered registers the host again (idempotent there). */
  async #refreshFacts(): Promise<void> {
    await this.#readFacts();
    if (this.#registered && this.#facts && this.#facts.factsDigest !== this.#registeredDigest) {
      this.#deps.log.info({ hostId: this.hostId, factsDigest: this.#facts.factsDigest }, 'facts changed; registering again');
      this.#register(false);
    }
  }

  /** Never rejects: facts that cannot be read leave the last ones (or none) in place. */
  async #readFacts(): Promise<void> {
    if (!this.#deps.facts) return;
    try {
      const facts = await this.#deps.facts();
      // A role the bus would refuse must not keep the host from registering at all.
      const rolePattern = new RegExp(patterns.hostFacts.roles, 'u');
      const refused = facts.roles.filter((r) => !rolePattern.test(r));
      if (refused.length > 0) this.#deps.log.warn({ hostId: this.hostId, refused }, 'roles not valid on the bus are left out');
      this.#facts = { ...facts, roles: facts.roles.filter((r) => rolePattern.test(r)) };
    } catch (err) {
      this.#deps.log.warn({ hostId: this.hostId, err: (err as Error).message }, 'host facts not read; the last ones stand');
    }
  }

  async #registerUntilAccepted(): Promise<void> {
    const retry = this.#deps.registerRetryMs ?? 2_000;
    while (!this.#stopped) {
      const refreshed = this.#facts;
      try {
        const ack = await this.#deps.bus.request(
          'agentRegistration',
          {
            hostId: this.hostId,
            agentVersion: this.#deps.identity.agentVersion,
            facts: {
              ...this.#deps.identity.facts,
              bootId: this.#deps.host.bootId(),
              ...this.#migratedFacts(),
              ...(refreshed ? { roles: refreshed.roles, factsDigest: refreshed.factsDigest } : {}),
            },
            labels: this.#deps.identity.labels,
            driver: this.#deps.driver.name,
            atMs: this.#now(),
          },
          10_000,
        );
        if (ack.accepted) {
          this.#registered = true;
          this.#registeredDigest = refreshed?.factsDigest;
          return;
        }
        this.#deps.log.warn({ hostId: this.hostId, reason: ack.reason }, 'registration refused');
      } catch (err) {
        this.#deps.log.debug({ hostId: this.hostId, err: (err as Error).message }, 'registration not answered, retrying');
      }
      await new Promise((r) => setTimeout(r, retry * (0.5 + Math.random())).unref());
    }
  }

  #migratedFacts(): Pick<Partial<HostFacts>, 'osId' | 'osVersion'> {
    return this.#state.facts ? { osId: this.#state.facts.osId, osVersion: this.#state.facts.osVersion } : {};
  }

  #sendHeartbeat(): void {
    if (this.#stopped || this.#deps.bus.nc.isClosed()) return;
    const cur = this.#state.current;
    const last = this.#state.recent.at(-1);
    const activity = cur
      ? { runId: cur.runId, step: stepEnum(cur.step), commandId: cur.commandId, phase: StepPhase.RUNNING }
      : last
        ? {
            runId: last.runId,
            step: stepEnum(last.step),
            commandId: last.commandId,
            phase: last.ok ? StepPhase.SUCCEEDED : StepPhase.FAILED,
          }
        : { phase: StepPhase.IDLE };
    try {
      // Never in a trace, even when sent as a step ends: liveness, not the run's work (a
      // span each in the scheduler was a seventh of its tracing cost, BENCHMARKS.md).
      outsideTraces(() =>
        this.#deps.bus.publish('heartbeat', {
          hostId: this.hostId,
          seq: ++this.#seq,
          atMs: this.#now(),
          bootId: this.#deps.host.bootId(),
          activity,
        }),
      );
    } catch (err) {
      this.#deps.log.debug({ err: (err as Error).message }, 'heartbeat not sent');
    }
  }

  async #onCommand(
    cmd: AgentCommand,
    respond: (ack: { commandId: string; accepted: boolean; duplicate: boolean; reason: string }) => void,
  ): Promise<void> {
    const ack = (accepted: boolean, duplicate: boolean, reason = ''): void =>
      respond({ commandId: cmd.commandId, accepted, duplicate, reason });
    // A deposed scheduler leader's command changes nothing (leader-epoch.ts); a new
    // leader's epoch is stored before anything it asks for is done.
    const epoch = admitEpoch(this.#state.leaderEpoch ?? 0, cmd.leaderEpoch ?? 0);
    if (!epoch.accept) {
      ack(false, false, epoch.reason);
      return;
    }
    if (epoch.raised) {
      this.#state.leaderEpoch = epoch.seen;
      await this.#deps.store.save(this.#state);
    }
    const current = this.#state.current;

    if (cmd.action.case === 'cancelStep') {
      // Only the step the cancel names: a stale or misdirected cancel must not abort another.
      const launched = current && this.#running?.commandId === current.commandId ? current : undefined;
      const decision = decideCancel(cmd.runId, cmd.action.value.step, launched);
      if (!decision.cancel) {
        ack(false, false, decision.reason);
        return;
      }
      this.#running?.abort.abort(new CancelReason(cmd.action.value.reason || 'cancelled by the scheduler'));
      ack(true, false);
      return;
    }
    if (cmd.action.case !== 'runStep') {
      ack(false, false, 'unknown action');
      return;
    }

    // Dedupe by command id: the scheduler may resend a command it is unsure about.
    if (current?.commandId === cmd.commandId) {
      ack(true, true, 'already running');
      await this.#journal(current, 'duplicate');
      return;
    }
    const finished = this.#state.recent.find((f) => f.commandId === cmd.commandId);
    if (finished) {
      ack(true, true, 'already finished');
      // The sender may have missed the outcome: publish it again (same event id).
      this.#publishInBackground(finished);
      return;
    }
    if (current) {
      ack(false, false, `busy with ${current.step} (command ${current.commandId})`);
      return;
    }

    const run = cmd.action.value;
    const rollbackRequired = planRollbackRequirement(run.rollbackRequired);
    const traceparent = currentTraceparent();
    const inFlight: StepInFlight = {
      commandId: cmd.commandId,
      runId: cmd.runId,
      step: stepName(run.step),
      attempt: run.attempt,
      profile: run.profile,
      dryRun: run.dryRun,
      backupId: run.backupId,
      planId: run.planId,
      ...(run.continuesRunId ? { continuesRunId: run.continuesRunId } : {}),
      timeoutSeconds: run.timeoutSeconds,
      probe: run.probe ? { kind: run.probe.kind, target: run.probe.target, timeoutMs: run.probe.timeoutMs } : undefined,
      ...(rollbackRequired ? { rollbackRequired } : {}),
      startedAt: this.#now(),
      bootId: this.#deps.host.bootId(),
      resumes: 0,
      ...(traceparent ? { traceparent } : {}),
    };
    // Persist before acknowledging: an acked command survives an agent crash. The data of
    // the run it continues is copied in the same write, before the step can run.
    this.#state.current = inFlight;
    const continued = this.#continueRun(inFlight);
    await this.#deps.store.save(this.#state);
    ack(true, false);
    this.#logContinuation(inFlight, continued);
    await this.#journal(inFlight, 'run');
    await this.#publishPhase(inFlight, 'started');
    this.#launch(inFlight, false);
  }

  /** After a start: re-publish unreported outcomes, then resume the step in flight. */
  async #recover(): Promise<void> {
    for (const f of this.#state.recent.filter((r) => !r.published)) this.#publishInBackground(f);
    const current = this.#state.current;
    if (!current) return;
    if (current.step === 'reboot') {
      // The reboot step succeeded if and only if the host booted again.
      const rebooted = current.bootId !== this.#deps.host.bootId();
      await this.#journal(current, 'resume');
      await this.#finish(
        current,
        rebooted
          ? { ok: true, report: { previousBootId: current.bootId, bootId: this.#deps.host.bootId() } }
          : {
              ok: false,
              code: 'REBOOT_NOT_OBSERVED',
              message: 'the agent restarted but the host did not reboot',
              retryable: true,
              kind: FailureKind.EXECUTION,
            },
      );
      return;
    }
    current.resumes += 1;
    // Copied when the command was taken; again only if that write predates the copy.
    this.#logContinuation(current, this.#continueRun(current));
    await this.#deps.store.save(this.#state);
    await this.#journal(current, 'resume');
    this.#emitLog(current, `agent restarted: resuming ${current.step} (resume ${current.resumes})`, LogStream.AGENT);
    this.#launch(current, true);
  }

  /**
   * Starts the step's run from the data of the run it continues, once: not when the run
   * already has data (a resumed or later step), nor when the earlier run's data is gone.
   * Changes the state in memory; the caller saves it.
   */
  #continueRun(step: InFlightStep): 'copied' | 'missing' | undefined {
    const from = step.continuesRunId;
    if (!from) return undefined;
    const runData = this.#state.runData ?? {};
    const next = continuedRunData(runData, step.runId, from);
    if (next) {
      this.#state.runData = next;
      return 'copied';
    }
    return runData[step.runId] === undefined && runData[from] === undefined ? 'missing' : undefined;
  }

  #logContinuation(step: InFlightStep, continued: 'copied' | 'missing' | undefined): void {
    if (continued === 'copied')
      this.#emitLog(step, `run ${step.runId} continues run ${step.continuesRunId}: its data carried over`, LogStream.AGENT);
    if (continued === 'missing') {
      this.#emitLog(step, `run ${step.runId} continues run ${step.continuesRunId}, whose data this host no longer keeps`, LogStream.STDERR);
    }
  }

  #launch(step: InFlightStep, resumed: boolean): void {
    const abort = new AbortController();
    // The step's span is a child of the command that asked for it (stored: a resumed step continues the trace).
    const span = startSpan(`step ${step.step}`, {
      parent: step.traceparent ?? '',
      attributes: { 'yx.host': this.hostId, 'yx.run': step.runId, 'yx.command': step.commandId, 'yx.resumed': resumed },
    });
    let failure: string | undefined;
    const done = span
      .run(() => this.#execute(step, resumed, abort))
      .then((outcome) => {
        if (outcome && !outcome.ok) failure = outcome.code;
        return outcome ? span.run(() => this.#serialize(() => this.#finish(step, outcome))) : undefined;
      })
      .catch((err: Error) => {
        failure = err.message;
        this.#deps.log.error({ hostId: this.hostId, err: err.message, stack: err.stack }, 'step execution failed');
      })
      .finally(() => {
        span.end(failure);
        if (this.#running?.commandId === step.commandId) this.#running = undefined;
      });
    this.#running = { commandId: step.commandId, abort, done };
  }

  /** Runs the step; undefined means "no outcome to report" (the agent is stopping). */
  async #execute(step: InFlightStep, resumed: boolean, abort: AbortController): Promise<StepOutcome | undefined> {
    let timer: NodeJS.Timeout | undefined;
    if (step.timeoutSeconds > 0) {
      const remaining = step.startedAt + step.timeoutSeconds * 1000 - this.#now();
      timer = setTimeout(() => abort.abort(new TimeoutReason(step.timeoutSeconds)), Math.max(0, remaining));
    }
    try {
      if (step.step === 'reboot') {
        if (step.dryRun) return { ok: true, report: { dryRun: true } };
        if (!this.#deps.host.rebootable) return { ok: true, report: { note: 'a root without its own machine is not rebooted' } };
        this.#emitLog(step, 'rebooting the host', LogStream.AGENT);
        await this.#deps.host.reboot();
        return undefined; // the outcome is decided when the agent starts again
      }
      if (step.step === 'cluster-check' && step.probe) {
        const probe = await runProbe(step.probe, abort.signal);
        this.#emitLog(step, `cluster probe: ${probe.detail}`, LogStream.AGENT);
        if (!probe.ok) {
          return { ok: false, code: 'CLUSTER_PROBE_FAILED', message: probe.detail, retryable: true, kind: FailureKind.EXECUTION };
        }
      }
      if (step.step !== 'precheck') return await this.#deps.driver.run(this.#context(step, resumed, abort.signal));
      // The assessment is of the facts as they are now: read them, and say which it assessed.
      await this.#refreshFacts();
      const digest = this.#facts?.factsDigest;
      return withFactsDigest(await this.#deps.driver.run(this.#context(step, resumed, abort.signal)), digest);
    } catch (err) {
      const reason = abort.signal.reason as unknown;
      if (this.#stopped && !(reason instanceof TimeoutReason) && !(reason instanceof CancelReason)) return undefined;
      if (reason instanceof TimeoutReason) {
        return { ok: false, code: 'STEP_TIMEOUT', message: reason.message, retryable: true, kind: FailureKind.TIMEOUT };
      }
      if (reason instanceof CancelReason) {
        return { ok: false, code: 'STEP_CANCELLED', message: reason.message, retryable: false, kind: FailureKind.EXECUTION };
      }
      const e = err as Error & { code?: string; retryable?: boolean };
      return {
        ok: false,
        code: typeof e.code === 'string' ? e.code : 'STEP_ERROR',
        message: e.message,
        retryable: e.retryable ?? false,
        kind: FailureKind.EXECUTION,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  #context(step: StepInFlight, resumed: boolean, signal: AbortSignal): StepContext {
    return {
      hostId: this.hostId,
      runId: step.runId,
      step: step.step,
      attempt: step.attempt,
      profile: step.profile,
      dryRun: step.dryRun,
      backupId: step.backupId,
      planId: step.planId ?? '',
      continuesRunId: step.continuesRunId ?? '',
      probe: undefined,
      ...(step.rollbackRequired ? { rollbackRequired: step.rollbackRequired } : {}),
      signal,
      resumed,
      lastCheckpoint: step.checkpoint,
      log: (line, source = 'stdout') =>
        this.#emitLog(step, line, source === 'stderr' ? LogStream.STDERR : source === 'agent' ? LogStream.AGENT : LogStream.STDOUT),
      progress: (percent, message) => this.#publishProgress(step, percent, message ?? ''),
      checkpoint: (data) =>
        this.#serialize(async () => {
          if (this.#state.current?.commandId !== step.commandId) return;
          this.#state.current.checkpoint = data;
          await this.#deps.store.save(this.#state);
        }),
      runData: {
        get: <T>(key: string) => this.#state.runData?.[step.runId]?.[key] as T | undefined,
        set: (key, value) =>
          this.#serialize(async () => {
            this.#state.runData = withRunValue(this.#state.runData ?? {}, step.runId, key, value);
            await this.#deps.store.save(this.#state);
          }),
      },
    };
  }

  async #finish(step: InFlightStep, outcome: StepOutcome): Promise<void> {
    if (this.#state.current?.commandId !== step.commandId) return;
    const failure: Omit<StepFailure, 'ok' | 'report'> | undefined = outcome.ok
      ? undefined
      : { code: outcome.code, message: outcome.message, retryable: outcome.retryable, kind: outcome.kind };
    const finished: FinishedStep = {
      commandId: step.commandId,
      runId: step.runId,
      step: step.step,
      attempt: step.attempt,
      ok: outcome.ok,
      failure,
      reportJson: outcome.report === undefined ? '' : JSON.stringify(outcome.report),
      finishedAt: this.#now(),
      published: false,
    };
    // Record the outcome before publishing it; an unpublished one is re-sent at start.
    this.#state.current = undefined;
    this.#state.recent.push(finished);
    await this.#deps.store.save(this.#state);
    await this.#journal(step, 'finish', outcome.ok);
    this.#emitLog(step, outcome.ok ? `${step.step} succeeded` : `${step.step} failed: ${outcome.message}`, LogStream.AGENT);
    this.#sendHeartbeat();
    this.#publishInBackground(finished);
  }

  /** Publishes an outcome without waiting; it stays unpublished in the state (re-sent at start) if this fails. */
  #publishInBackground(f: FinishedStep): void {
    this.#publishOutcome(f).catch((err: Error) =>
      this.#deps.log.error(
        { hostId: this.hostId, commandId: f.commandId, err: err.message },
        'outcome not published; re-sent at the next start',
      ),
    );
  }

  async #publishOutcome(f: FinishedStep): Promise<void> {
    const phase = f.ok ? StepPhase.SUCCEEDED : StepPhase.FAILED;
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        await this.#deps.bus.publishDurable(
          'stepEvent',
          {
            eventId: `${f.commandId}.${FAILURE_TOKEN[phase]}`,
            hostId: this.hostId,
            runId: f.runId,
            commandId: f.commandId,
            step: stepEnum(f.step),
            attempt: f.attempt,
            phase,
            kindToken: FAILURE_TOKEN[phase],
            percent: 100,
            message: f.ok ? '' : clip('stepEvent', 'message', f.failure?.message ?? ''),
            error: f.failure
              ? {
                  code: f.failure.code,
                  message: clip('errorInfo', 'message', f.failure.message),
                  retryable: f.failure.retryable,
                  kind: f.failure.kind,
                }
              : undefined,
            atMs: f.finishedAt,
            reportJson: f.reportJson,
          },
          `${f.commandId}.${FAILURE_TOKEN[phase]}`,
        );
        await this.#serialize(async () => {
          f.published = true;
          await this.#deps.store.save(this.#state);
        });
        return;
      } catch (err) {
        this.#deps.log.warn({ hostId: this.hostId, err: (err as Error).message, attempt }, 'outcome not published yet, retrying');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)).unref());
      }
    }
  }

  async #publishPhase(step: InFlightStep, token: 'started'): Promise<void> {
    const eventId = `${step.commandId}.${token}`;
    try {
      await this.#deps.bus.publishDurable(
        'stepEvent',
        {
          eventId,
          hostId: this.hostId,
          runId: step.runId,
          commandId: step.commandId,
          step: stepEnum(step.step),
          attempt: step.attempt,
          phase: StepPhase.RUNNING,
          kindToken: token,
          atMs: step.startedAt,
        },
        eventId,
        // Informational, and the step waits for it: a stream without a leader must not hold
        // the step back for the full publish deadline.
        { deadlineMs: 5_000 },
      );
    } catch (err) {
      // Informational: the outcome event is what the scheduler must not miss.
      this.#deps.log.warn({ hostId: this.hostId, err: (err as Error).message }, 'started event not published');
    }
  }

  #publishProgress(step: InFlightStep, percent: number, message: string): void {
    try {
      this.#deps.bus.publish('stepEvent', {
        eventId: `${step.commandId}.progress.${percent}`,
        hostId: this.hostId,
        runId: step.runId,
        commandId: step.commandId,
        step: stepEnum(step.step),
        attempt: step.attempt,
        phase: StepPhase.RUNNING,
        kindToken: 'progress',
        percent: Math.max(0, Math.min(100, Math.round(percent))),
        message: clip('stepEvent', 'message', message),
        atMs: this.#now(),
      });
    } catch (err) {
      this.#deps.log.debug({ err: (err as Error).message }, 'progress not sent');
    }
  }

  #emitLog(step: InFlightStep, text: string, source: LogStream): void {
    try {
      this.#deps.bus.publish('logLine', {
        hostId: this.hostId,
        runId: step.runId,
        step: stepEnum(step.step),
        seq: ++this.#logSeq,
        atMs: this.#now(),
        source,
        text: clip('logLine', 'text', text),
      });
    } catch (err) {
      this.#deps.log.debug({ err: (err as Error).message }, 'log line not sent');
    }
  }

  /** Never rejects: the journal is a record for people, and a full disk must not stop a step (or its rollback). */
  async #journal(step: InFlightStep, event: 'run' | 'resume' | 'finish' | 'duplicate', ok?: boolean): Promise<void> {
    const entry = {
      at: this.#now(),
      hostId: this.hostId,
      runId: step.runId,
      commandId: step.commandId,
      step: step.step,
      attempt: step.attempt,
      event,
      ...(ok === undefined ? {} : { ok }),
    };
    try {
      await this.#deps.journal.append(entry);
    } catch (err) {
      this.#deps.journalFailures?.inc();
      this.#deps.log.error(
        { hostId: this.hostId, commandId: step.commandId, event, err: (err as Error).message },
        'journal append failed; the step goes on without its record',
      );
    }
  }
}

/** Why a step's abort signal fired: its timeout. */
class TimeoutReason extends YxError {
  readonly code = 'STEP_TIMEOUT';
  readonly retryable = true;

  constructor(seconds: number) {
    super(`step timed out after ${seconds} s`);
  }
}

/** Why a step's abort signal fired: the scheduler cancelled it. */
class CancelReason extends YxError {
  readonly code = 'STEP_CANCELLED';
  readonly retryable = false;
}

export type { HostFacts, HostLabels };
