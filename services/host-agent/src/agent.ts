// One host's agent: registers, heartbeats, takes commands addressed to its host only,
// runs steps through its driver, streams progress and logs, and persists the step in
// flight so that after a crash or a reboot it resumes or reports exactly where it stopped.

import type { Subscription } from '@nats-io/transport-node';
import {
  type AgentCommand,
  currentTraceparent,
  FailureKind,
  type HostFacts,
  type HostLabels,
  LogStream,
  outsideTraces,
  StepPhase,
  startSpan,
  stepEnum,
  stepName,
} from '@yixing/common';
import { type AgentDeps, DEFAULT_FACTS_REFRESH_MS, planRollbackRequirement, type StepInFlight, withFactsDigest } from './agent-deps.ts';
import type { StepContext, StepFailure, StepOutcome } from './drivers/driver.ts';
import { HostRegistration } from './host-registration.ts';
import { admitEpoch } from './leader-epoch.ts';
import { runProbe } from './probe.ts';
import { type AgentState, continuedRunData, type FinishedStep, type InFlightStep, withRunValue } from './state/agent-state.store.ts';
import { CancelReason, TimeoutReason, thrownOutcome } from './step-abort.ts';
import { decideCancel } from './step-cancel.ts';
import { StepEvents } from './step-events.ts';

export class HostAgent {
  readonly hostId: string;
  readonly #deps: AgentDeps;
  readonly #now: () => number;
  #state: AgentState = { hostId: '', recent: [] };
  #sub: Subscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #events: StepEvents;
  readonly #registration: HostRegistration;
  #seq = 0;
  #running: { commandId: string; abort: AbortController; done: Promise<void> } | undefined;
  #lock: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #factsTimer: NodeJS.Timeout | undefined;

  constructor(deps: AgentDeps) {
    this.#deps = deps;
    this.hostId = deps.identity.hostId;
    this.#now = deps.clock ?? Date.now;
    const stopped = (): boolean => this.#stopped;
    this.#events = new StepEvents({
      bus: deps.bus,
      hostId: this.hostId,
      log: deps.log,
      now: this.#now,
      journal: deps.journal,
      journalFailures: deps.journalFailures,
      stopped,
    });
    this.#registration = new HostRegistration({
      bus: deps.bus,
      identity: deps.identity,
      driver: deps.driver.name,
      bootId: () => deps.host.bootId(),
      log: deps.log,
      now: this.#now,
      facts: deps.facts,
      registerRetryMs: deps.registerRetryMs,
      stopped,
      migratedFacts: () => this.#migratedFacts(),
    });
  }

  get registered(): boolean {
    return this.#registration.registered;
  }

  start(): Promise<void> {
    // Long-lived: its timers and subscription belong to no step's trace, whoever starts it.
    return outsideTraces(() => this.#start());
  }

  async #start(): Promise<void> {
    this.#stopped = false;
    this.#state = await this.#deps.store.load();
    this.#sub = this.#deps.bus.subscribe('agentCommand', { hostId: this.hostId }, (cmd, delivery) =>
      this.#serialize(() => this.#acceptCommand(cmd, (ack) => delivery.respond(ack))),
    );
    this.#heartbeat = setInterval(() => this.#sendHeartbeat(), this.#deps.heartbeatIntervalMs);
    this.#heartbeat.unref();
    this.#sendHeartbeat();
    this.#registration.register(true);
    const refreshMs = this.#deps.factsRefreshMs ?? DEFAULT_FACTS_REFRESH_MS;
    if (this.#deps.facts && refreshMs > 0) {
      this.#factsTimer = setInterval(() => this.#registration.refreshAndRegister(), refreshMs);
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

  /**
   * The one place a command is accepted or refused: the leader's epoch, a cancel of the
   * step it names, dedupe by command id, one step at a time; a step accepted is persisted
   * before the acknowledgement and then launched.
   */
  async #acceptCommand(
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
      await this.#events.journal(current, 'duplicate');
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
    await this.#events.journal(inFlight, 'run');
    await this.#events.phase(inFlight, 'started');
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
      await this.#events.journal(current, 'resume');
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
    await this.#events.journal(current, 'resume');
    this.#events.log(current, `agent restarted: resuming ${current.step} (resume ${current.resumes})`, LogStream.AGENT);
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
      this.#events.log(step, `run ${step.runId} continues run ${step.continuesRunId}: its data carried over`, LogStream.AGENT);
    if (continued === 'missing') {
      this.#events.log(
        step,
        `run ${step.runId} continues run ${step.continuesRunId}, whose data this host no longer keeps`,
        LogStream.STDERR,
      );
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
        this.#events.log(step, 'rebooting the host', LogStream.AGENT);
        await this.#deps.host.reboot();
        return undefined; // the outcome is decided when the agent starts again
      }
      if (step.step === 'cluster-check' && step.probe) {
        const probe = await runProbe(step.probe, abort.signal);
        this.#events.log(step, `cluster probe: ${probe.detail}`, LogStream.AGENT);
        if (!probe.ok) {
          return { ok: false, code: 'CLUSTER_PROBE_FAILED', message: probe.detail, retryable: true, kind: FailureKind.EXECUTION };
        }
      }
      if (step.step !== 'precheck') return await this.#deps.driver.run(this.#context(step, resumed, abort.signal));
      // The assessment is of the facts as they are now: read them, and say which it assessed.
      await this.#registration.refresh();
      const digest = this.#registration.factsDigest;
      return withFactsDigest(await this.#deps.driver.run(this.#context(step, resumed, abort.signal)), digest);
    } catch (err) {
      return thrownOutcome(err, abort.signal.reason, this.#stopped);
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
        this.#events.log(step, line, source === 'stderr' ? LogStream.STDERR : source === 'agent' ? LogStream.AGENT : LogStream.STDOUT),
      progress: (percent, message) => this.#events.progress(step, percent, message ?? ''),
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
    await this.#events.journal(step, 'finish', outcome.ok);
    this.#events.log(step, outcome.ok ? `${step.step} succeeded` : `${step.step} failed: ${outcome.message}`, LogStream.AGENT);
    this.#sendHeartbeat();
    this.#publishInBackground(finished);
  }

  /** Publishes an outcome without waiting; it stays unpublished in the state (re-sent at start) if this fails. */
  #publishInBackground(f: FinishedStep): void {
    const markPublished = (): Promise<void> =>
      this.#serialize(async () => {
        f.published = true;
        await this.#deps.store.save(this.#state);
      });
    this.#events
      .outcome(f, markPublished)
      .catch((err: Error) =>
        this.#deps.log.error(
          { hostId: this.hostId, commandId: f.commandId, err: err.message },
          'outcome not published; re-sent at the next start',
        ),
      );
  }
}

// What the agent is given moved to agent-deps.ts; importers of these names from here still work.
export type { AgentDeps, AgentIdentity, HostEnv, RefreshedFacts } from './agent-deps.ts';
export { DEFAULT_FACTS_REFRESH_MS, planRollbackRequirement, withFactsDigest } from './agent-deps.ts';
export type { HostFacts, HostLabels };
