// What a step shows the scheduler and people: its started, progress and outcome events
// and its log lines on the bus, and the host's journal of the commands it ran.
import { type Bus, clip, type Logger, type LogStream, StepPhase, stepEnum } from '@yixing/common';
import type { Journal } from './journal.ts';
import type { FinishedStep, InFlightStep } from './state/agent-state.store.ts';

const FAILURE_TOKEN = { [StepPhase.SUCCEEDED]: 'succeeded', [StepPhase.FAILED]: 'failed' } as const;

export interface StepEventsDeps {
  bus: Bus;
  hostId: string;
  log: Logger;
  now: () => number;
  journal: Journal;
  journalFailures?: { inc(): void } | undefined;
  /** The agent is stopping: an outcome is no longer retried. */
  stopped: () => boolean;
}

export class StepEvents {
  readonly #d: StepEventsDeps;
  #logSeq = 0;

  constructor(deps: StepEventsDeps) {
    this.#d = deps;
  }

  /** What every event of a step names: the host, run, command, step and attempt. */
  #about(s: Pick<InFlightStep, 'runId' | 'commandId' | 'step' | 'attempt'>) {
    return { hostId: this.#d.hostId, runId: s.runId, commandId: s.commandId, step: stepEnum(s.step), attempt: s.attempt };
  }

  /** The outcome event, retried until the bus takes it (or the agent stops); then `markPublished`. */
  async outcome(f: FinishedStep, markPublished: () => Promise<void>): Promise<void> {
    const phase = f.ok ? StepPhase.SUCCEEDED : StepPhase.FAILED;
    for (let attempt = 0; !this.#d.stopped(); attempt++) {
      try {
        await this.#d.bus.publishDurable(
          'stepEvent',
          {
            eventId: `${f.commandId}.${FAILURE_TOKEN[phase]}`,
            ...this.#about(f),
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
        await markPublished();
        return;
      } catch (err) {
        this.#d.log.warn({ hostId: this.#d.hostId, err: (err as Error).message, attempt }, 'outcome not published yet, retrying');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)).unref());
      }
    }
  }

  async phase(step: InFlightStep, token: 'started'): Promise<void> {
    const eventId = `${step.commandId}.${token}`;
    try {
      await this.#d.bus.publishDurable(
        'stepEvent',
        {
          eventId,
          ...this.#about(step),
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
      this.#d.log.warn({ hostId: this.#d.hostId, err: (err as Error).message }, 'started event not published');
    }
  }

  progress(step: InFlightStep, percent: number, message: string): void {
    try {
      this.#d.bus.publish('stepEvent', {
        eventId: `${step.commandId}.progress.${percent}`,
        ...this.#about(step),
        phase: StepPhase.RUNNING,
        kindToken: 'progress',
        percent: Math.max(0, Math.min(100, Math.round(percent))),
        message: clip('stepEvent', 'message', message),
        atMs: this.#d.now(),
      });
    } catch (err) {
      this.#d.log.debug({ err: (err as Error).message }, 'progress not sent');
    }
  }

  log(step: InFlightStep, text: string, source: LogStream): void {
    try {
      this.#d.bus.publish('logLine', {
        hostId: this.#d.hostId,
        runId: step.runId,
        step: stepEnum(step.step),
        seq: ++this.#logSeq,
        atMs: this.#d.now(),
        source,
        text: clip('logLine', 'text', text),
      });
    } catch (err) {
      this.#d.log.debug({ err: (err as Error).message }, 'log line not sent');
    }
  }

  /** Never rejects: the journal is a record for people, and a full disk must not stop a step (or its rollback). */
  async journal(step: InFlightStep, event: 'run' | 'resume' | 'finish' | 'duplicate', ok?: boolean): Promise<void> {
    const entry = {
      at: this.#d.now(),
      hostId: this.#d.hostId,
      runId: step.runId,
      commandId: step.commandId,
      step: step.step,
      attempt: step.attempt,
      event,
      ...(ok === undefined ? {} : { ok }),
    };
    try {
      await this.#d.journal.append(entry);
    } catch (err) {
      this.#d.journalFailures?.inc();
      this.#d.log.error(
        { hostId: this.#d.hostId, commandId: step.commandId, event, err: (err as Error).message },
        'journal append failed; the step goes on without its record',
      );
    }
  }
}
