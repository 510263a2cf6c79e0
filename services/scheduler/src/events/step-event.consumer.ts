// Consumes step outcomes from YX_EVENTS with one durable pull consumer (not one per host:
// 300k agents cost the broker subjects, not consumers). A message is acked only after
// the engine stored its effect, so a scheduler killed at any moment loses no event; a
// redelivered event finds its command already moved on and changes nothing.
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { type Bus, catalog, DURABLE_PULL_EXPIRES_MS, durableNames, ensureDurable, type Logger, subjectPattern } from '@yixing/common';
import type { SchedulerMetrics } from '../metrics.ts';
import type { Engine } from '../reconcile/engine.ts';

export const CONSUMER_NAME = durableNames.schedulerSteps;

export interface StepEventConsumerDeps {
  bus: Bus;
  engine: Engine;
  log: Logger;
  metrics: SchedulerMetrics;
  /** Events applied concurrently (each run's events still apply in order). */
  concurrency?: number;
}

export class StepEventConsumer {
  readonly #deps: StepEventConsumerDeps;
  #messages: ConsumerMessages | undefined;
  #progress: Subscription | undefined;
  #loop: Promise<void> | undefined;

  constructor(deps: StepEventConsumerDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const { bus } = this.#deps;
    const consumer = await ensureDurable(bus.nc, catalog.stepEvent.stream, {
      name: CONSUMER_NAME,
      ack_wait: 30_000_000_000,
      max_ack_pending: 20_000,
      // Progress is not needed to move a host: it comes over core NATS below.
      filterSubjects: [
        ...(['started', 'succeeded', 'failed'] as const).map((kindToken) => subjectPattern('stepEvent', { kindToken })),
        catalog.backupEvent.filter,
      ],
    });
    this.#messages = await consumer.consume({ max_messages: 1000, expires: DURABLE_PULL_EXPIRES_MS });
    this.#loop = this.#run(this.#messages);
    this.#progress = bus.subscribe('stepEvent', { kindToken: 'progress' }, (evt) => this.#deps.engine.onProgress(evt));
  }

  async #run(messages: ConsumerMessages): Promise<void> {
    const limit = this.#deps.concurrency ?? 64;
    const inFlight = new Set<Promise<void>>();
    for await (const msg of messages) {
      const decoded = this.#deps.bus.decodeStored(msg);
      if (!decoded) continue;
      const apply =
        decoded.name === 'stepEvent'
          ? () => this.#deps.engine.applyStepEvent(decoded.message)
          : decoded.name === 'backupEvent'
            ? () => this.#deps.engine.applyBackupEvent(decoded.message)
            : undefined;
      if (!apply) {
        msg.term();
        continue;
      }
      const p = this.#deps.bus.inMessageContext(msg, () => this.#apply(msg, apply, msg.subject)).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
    await Promise.allSettled(inFlight);
  }

  async #apply(msg: JsMsg, apply: () => Promise<void>, subject: string): Promise<void> {
    try {
      await apply();
      msg.ack();
      this.#deps.metrics.eventsApplied.inc();
    } catch (err) {
      // Not stored: let the stream deliver it again shortly.
      this.#deps.log.warn({ err: (err as Error).message, subject }, 'event not applied, will be redelivered');
      msg.nak(1_000);
    }
  }

  async stop(): Promise<void> {
    this.#progress?.unsubscribe();
    await this.#messages?.close();
    await this.#loop;
  }
}
