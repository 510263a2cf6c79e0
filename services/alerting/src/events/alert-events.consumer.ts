// Turns bus events into alert changes: one durable pull consumer on YX_EVENTS shared by
// every alerting replica (each event is applied by one of them), filtered to what the
// scheduler and the backup service publish about runs, plans and backups. An event is
// acked once its changes are stored; a redelivered one applies the same $max updates again
// and changes nothing. A failed step's alert carries the step's last log lines, read from
// YX_LOGS when the alert fires.
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Bus, catalog, durableNames, ensureDurable, type Logger, readRunLogTail, startSpan } from '@yixing/common';
import { fingerprint } from '../engine/fingerprint.ts';
import type { AlertingMetrics } from '../metrics.ts';
import { type AlertChange, alertsOfBackup, alertsOfHostRun, alertsOfPlan, type LogRef, type RulesConfig } from '../rules/alert-rules.ts';
import type { AlertStore } from '../store/alert.store.ts';

export interface AlertEventsDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  bus: Bus;
  alerts: AlertStore;
  rules: RulesConfig;
  /** Lines of the failed step's log an alert carries. */
  logTailLines: number;
  log: Logger;
  metrics: AlertingMetrics;
}

/** Log lines scanned for the failed step's own: the run's later steps (a rollback) come after them. */
const LOG_SCAN_LINES = 400;
/** An annotation's most characters (the receivers cut further to their own limits). */
const LOG_TAIL_MAX_CHARS = 8000;

type Source = 'hostrun' | 'plan' | 'backup';

/**
 * Events applied at once: one at a time, each waits in turn on the step's log and on the
 * database, and a wave's failures arrive together; the MongoDB pool (YX_MONGO_POOL, 10)
 * bounds what the database sees anyway.
 */
const EVENTS_AT_ONCE = 16;

export class AlertEventsConsumer {
  readonly #deps: AlertEventsDeps;
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;

  constructor(deps: AlertEventsDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const consumer = await ensureDurable(this.#deps.nc, catalog.hostRunEvent.stream, {
      name: durableNames.alertingEvents,
      filterSubjects: [catalog.hostRunEvent.filter, catalog.planEvent.filter, catalog.backupEvent.filter],
      max_ack_pending: 1000,
    });
    this.#messages = await consumer.consume({ max_messages: 200 });
    const messages = this.#messages;
    this.#loop = (async () => {
      // Events apply in any order (the stores keep the latest with $max), so several are
      // applied at once: most of each is waiting on the database and the log stream.
      const inFlight = new Set<Promise<void>>();
      for await (const msg of messages) {
        const applying: Promise<void> = this.handle(msg).finally(() => inFlight.delete(applying));
        inFlight.add(applying);
        if (inFlight.size >= EVENTS_AT_ONCE) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    })().catch((err: Error) => this.#deps.log.error({ err: err.message }, 'alert event loop ended'));
  }

  async stop(): Promise<void> {
    await this.#messages?.close();
    await this.#loop;
  }

  /** One event, in the span of its receipt (a host-run's event carries its run's trace); acked or nak'd. */
  handle(msg: JsMsg): Promise<void> {
    return this.#deps.bus.inMessageContext(msg, () => this.#evaluate(msg));
  }

  async #evaluate(msg: JsMsg): Promise<void> {
    const { bus, rules, metrics, log } = this.#deps;
    const decoded = bus.decodeStored(msg);
    if (!decoded) {
      metrics.events.inc({ source: 'unknown', outcome: 'invalid' });
      return; // counted and terminated by decodeStored
    }
    let source: Source;
    let changes: AlertChange[];
    if (decoded.name === 'hostRunEvent') [source, changes] = ['hostrun', alertsOfHostRun(decoded.message, rules)];
    else if (decoded.name === 'planEvent') [source, changes] = ['plan', alertsOfPlan(decoded.message, rules)];
    else if (decoded.name === 'backupEvent') [source, changes] = ['backup', alertsOfBackup(decoded.message, rules)];
    else {
      msg.term();
      return;
    }
    const span = startSpan('alert evaluate', { attributes: evaluationAttributes(source, decoded.message, changes) });
    try {
      await span.run(() => this.apply(changes, span.traceparent));
      msg.ack();
      metrics.events.inc({ source, outcome: changes.length > 0 ? 'applied' : 'ignored' });
      span.end();
    } catch (err) {
      log.warn({ err: (err as Error).message, subject: msg.subject }, 'alert event not applied, redelivering');
      msg.nak(1_000);
      span.end((err as Error).message);
    }
  }

  /** Stores the changes in order (a resolve before the fire of the same event); `traceparent`: the span firing them. */
  async apply(changes: readonly AlertChange[], traceparent = ''): Promise<void> {
    const { alerts } = this.#deps;
    for (const c of changes) {
      if (c.op === 'resolve') {
        await alerts.resolveWhere(c.names, c.where, c.at);
        continue;
      }
      const annotations = c.log ? { ...c.annotations, log_tail: await this.#logTail(c.log) } : c.annotations;
      const fp = fingerprint(c.labels);
      await alerts.fire({
        fingerprint: fp,
        labels: c.labels,
        annotations,
        path: c.path,
        at: c.at,
        ...(traceparent ? { traceparent } : {}),
      });
      this.#deps.log.debug({ fingerprint: fp, alertname: c.labels.alertname, host: c.labels.host, at: c.at }, 'alert fired');
    }
  }

  /** The failed step's last lines; a log that cannot be read now does not hold the alert back. */
  async #logTail(ref: LogRef): Promise<string> {
    try {
      const page = await readRunLogTail({ js: this.#deps.js }, ref.hostId, ref.runId, LOG_SCAN_LINES);
      const own = page.lines.filter((l) => l.step === ref.step);
      const text = own
        .slice(-this.#deps.logTailLines)
        .map((l) => l.text)
        .join('\n');
      return text.length > LOG_TAIL_MAX_CHARS ? text.slice(text.length - LOG_TAIL_MAX_CHARS) : text;
    } catch (err) {
      this.#deps.log.warn({ err: (err as Error).message, host: ref.hostId, run: ref.runId }, 'step log not read');
      return '';
    }
  }
}

/** What an evaluation span says (pure): the event, the run it is about, the alerts it fired and resolved. */
export function evaluationAttributes(
  source: Source,
  event: { hostId?: string; runId?: string; planId?: string },
  changes: readonly AlertChange[],
): Record<string, string | number | string[]> {
  const fired = changes.filter((c): c is Extract<AlertChange, { op: 'fire' }> => c.op === 'fire');
  return {
    'yx.event': source,
    ...(event.hostId ? { 'yx.host': event.hostId } : {}),
    ...(event.runId ? { 'yx.run': event.runId } : {}),
    ...(event.planId ? { 'yx.plan': event.planId } : {}),
    'yx.alerts.fired': fired.length,
    'yx.alerts.resolves': changes.length - fired.length,
    'yx.alertnames': [...new Set(fired.map((c) => c.labels.alertname ?? ''))],
  };
}
