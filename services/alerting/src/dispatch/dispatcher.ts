// The dispatcher: every tick it looks at the alerts and silences as stored, groups them
// (grouping.ts), asks the flush decision (engine/flush.ts) of each (receiver, group)
// against the notification log, and claims each notification it decides to send with a
// compare-and-swap on the log before it hands it to the receiver's delivery queue. Every
// replica runs the same loop on the same data; the claim makes one of them the sender.
// A claim is a lease: its owner renews it while the receiver is retried, and a replica
// that finds a pending claim whose lease ran out (its owner died) takes it over, once.
import { randomUUID } from 'node:crypto';
import { type Bus, AlertStatus as BusAlertStatus, type Logger } from '@yixing/common';
import type { RoutingConfig } from '../config/routing-config.ts';
import type { RetryPolicy } from '../delivery/backoff.ts';
import { DeliveryQueue } from '../delivery/delivery-queue.ts';
import type { RateLimit } from '../delivery/token-bucket.ts';
import { decideFlush, type FlushDecision } from '../engine/flush.ts';
import { parseMatchers } from '../engine/matchers.ts';
import type { Silence } from '../engine/silences.ts';
import type { AlertingMetrics, NotificationKind } from '../metrics.ts';
import type { Notification } from '../model/alert.ts';
import type { Receiver } from '../receivers/receiver.ts';
import { type AlertDoc, type AlertStore, alertOf, isAcknowledged, isFiring } from '../store/alert.store.ts';
import { type LogRecord, logKey, type NotificationLog, type Stored } from '../store/notification-log.store.ts';
import type { SilenceDoc, SilenceStore } from '../store/silence.store.ts';
import { type AlertState, type Group, groupAlerts, notificationOf } from './grouping.ts';

/** A configured receiver: its integrations, each delivered, logged and rate-limited on its own. */
export interface ReceiverSetup {
  name: string;
  integrations: readonly { receiver: Receiver; rateLimit?: RateLimit | undefined }[];
}

/** One integration of a receiver, with its own queue: `<receiver>/<index>`. */
interface Target {
  id: string;
  queue: DeliveryQueue;
}

export interface DispatcherConfig {
  consoleUrl: string;
  tickMs: number;
  /** How long a claim holds without renewal: a dead replica's deliveries are taken over after it. */
  leaseMs: number;
  retry: RetryPolicy;
  attemptTimeoutMs: number;
  /** Resolved alerts are still grouped this long (their resolved notification must go out). */
  resolvedKeepMs: number;
}

export interface DispatcherDeps {
  alerts: AlertStore;
  silences: SilenceStore;
  nflog: NotificationLog;
  routing: RoutingConfig;
  receivers: readonly ReceiverSetup[];
  bus: Pick<Bus, 'publish'>;
  metrics: AlertingMetrics;
  log: Logger;
  clock: () => number;
  config: DispatcherConfig;
  /** This process, in the log's claims (a new one each start). */
  replicaId?: string;
}

/** How far back (writer clocks) a tick reloads changed alerts: replicas' clocks differ a little. */
const CLOCK_MARGIN_MS = 5_000;
/** Silences kept in view after they ended: their end tells flush that an alert was unmuted. */
const SILENCE_MEMORY_MS = 86_400_000;

const BUS_STATUS = { firing: BusAlertStatus.FIRING, resolved: BusAlertStatus.RESOLVED } as const;
const SEVERITY_ORDER = ['critical', 'warning', 'info'] as const;

export class Dispatcher {
  readonly #d: DispatcherDeps;
  readonly #me: string;
  /** By receiver name. */
  readonly #targets = new Map<string, Target[]>();
  /** By target id. */
  readonly #queues = new Map<string, DeliveryQueue>();
  readonly #alerts = new Map<string, AlertDoc>();
  /** When this process first saw each group (group_wait counts from the earlier of it and the alerts' start). */
  readonly #firstSeen = new Map<string, number>();
  /** Notifications this process is delivering: id → log key. */
  readonly #mine = new Map<string, string>();
  #loadedUpTo: number | null = null;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
    this.#me = deps.replicaId ?? randomUUID();
    for (const setup of deps.receivers) {
      const targets = setup.integrations.map(({ receiver, rateLimit }, i): Target => {
        const queue = new DeliveryQueue({
          receiver,
          retry: deps.config.retry,
          ...(rateLimit ? { rateLimit } : {}),
          attemptTimeoutMs: receiver.timeoutMs ?? deps.config.attemptTimeoutMs,
          callbacks: {
            delivered: (id, attempts, latencyMs) => this.#finished(id, 'delivered', attempts, latencyMs, ''),
            failed: (id, err, willRetry) => this.#failed(id, err, willRetry),
            superseded: (id) => this.#superseded(id),
          },
        });
        const id = `${setup.name}/${i}`;
        this.#queues.set(id, queue);
        return { id, queue };
      });
      this.#targets.set(setup.name, targets);
    }
  }

  get replicaId(): string {
    return this.#me;
  }

  start(): void {
    const loop = (): void => {
      if (this.#stopped) return;
      this.#ticking = this.tick()
        .catch((err: Error) => this.#d.log.error({ err: err.message, stack: err.stack }, 'dispatch tick failed'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#d.config.tickMs);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    await Promise.all([...this.#queues.values()].map((q) => q.stop()));
  }

  /** One look: load what changed, decide every group, claim and queue what is due, take over what was left. */
  async tick(): Promise<void> {
    const now = this.#d.clock();
    await this.#loadAlerts(now);
    const silences = (await this.#d.silences.current(now - SILENCE_MEMORY_MS)).map(silenceOf);
    const states = this.#alertStates(now);
    this.#countFiring(states);
    const groups = groupAlerts({ alerts: states, tree: this.#d.routing.route, silences, inhibitRules: this.#d.routing.inhibitRules, now });
    const seen = new Set<string>();
    for (const group of groups.values()) {
      // A receiver with no integration drops what its routes send it, as in Alertmanager.
      for (const target of this.#targets.get(group.receiver) ?? []) {
        const key = logKey(target.id, group.groupKey);
        seen.add(key);
        if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, now);
        const stored = this.#d.nflog.get(key);
        const decision = decideGroup(group, stored?.record, this.#firstSeen.get(key) ?? now, target.queue.receiver, now);
        if (decision.kind === 'done') this.#firstSeen.delete(key);
        if (decision.kind === 'notify') await this.#claim(key, target.id, group, decision, stored, now);
      }
    }
    for (const key of this.#firstSeen.keys()) if (!seen.has(key)) this.#firstSeen.delete(key);
    await this.#keepClaims(now);
  }

  async #loadAlerts(now: number): Promise<void> {
    const since = this.#loadedUpTo === null ? 0 : this.#loadedUpTo - CLOCK_MARGIN_MS;
    for (const doc of await this.#d.alerts.changedSince(since)) this.#alerts.set(doc._id, doc);
    this.#loadedUpTo = now;
  }

  /** Firing alerts, and resolved ones recent enough that their resolution may still be owed. */
  #alertStates(now: number): AlertState[] {
    const out: AlertState[] = [];
    for (const [fp, doc] of this.#alerts) {
      const firing = isFiring(doc);
      if (!firing && doc.resolvedAt.getTime() < now - this.#d.config.resolvedKeepMs) {
        this.#alerts.delete(fp);
        continue;
      }
      out.push({
        alert: alertOf(doc, this.#d.config.consoleUrl),
        status: firing ? 'firing' : 'resolved',
        acknowledged: isAcknowledged(doc),
      });
    }
    return out;
  }

  #countFiring(states: readonly AlertState[]): void {
    this.#d.metrics.showFiring(states.filter((s) => s.status === 'firing').map((s) => s.alert));
  }

  async #claim(
    key: string,
    target: string,
    group: Group,
    decision: Extract<FlushDecision, { kind: 'notify' }>,
    stored: Stored | undefined,
    now: number,
  ): Promise<void> {
    const notification = {
      ...notificationOf(group, decision, this.#d.config.consoleUrl, now),
      id: `${target}|${group.groupKey}|${decision.seq}`,
    };
    const record: LogRecord = {
      target,
      receiver: group.receiver,
      groupKey: group.groupKey,
      seq: decision.seq,
      at: now,
      firing: decision.firing,
      resolved: decision.resolved,
      acknowledged: decision.acknowledged,
      delivery: 'pending',
      owner: this.#me,
      leaseUntil: now + this.#d.config.leaseMs,
      notification,
      attempts: 0,
      doneAt: null,
      error: '',
    };
    const revision = await this.#d.nflog.write(key, record, stored?.revision ?? 0);
    if (revision === null) return; // another replica claimed this flush first
    this.#d.log.debug(
      { notification: notification.id, reason: decision.reason, firing: decision.firing.length, resolved: decision.resolved.length },
      'flush claimed',
    );
    this.#send(key, target, notification);
    this.#announce(notification);
  }

  #send(key: string, target: string, notification: Notification): void {
    this.#mine.set(notification.id, key);
    this.#queues.get(target)?.enqueue(notification);
  }

  /** The notification on the bus (yx.v1.alert.<severity>), for the console and anything else listening. */
  #announce(n: Notification): void {
    const severities = new Set(n.alerts.map((a) => a.labels.severity));
    const severity = SEVERITY_ORDER.find((s) => severities.has(s)) ?? 'info';
    try {
      this.#d.bus.publish('alertNotification', {
        severity,
        groupKey: n.groupKey,
        status: BUS_STATUS[n.status],
        atMs: n.at,
        alerts: n.alerts.map((a) => ({
          fingerprint: a.fingerprint,
          status: BUS_STATUS[a.status],
          labels: { ...a.labels },
          annotations: { ...a.annotations },
          startsAt: a.startsAt,
          endsAt: a.endsAt ?? 0,
          link: a.link,
        })),
      });
    } catch (err) {
      this.#d.log.warn({ err: (err as Error).message, notification: n.id }, 'alert notification not announced on the bus');
    }
  }

  /** Renews this process's leases, and takes over pending notifications whose owner's lease ran out. */
  async #keepClaims(now: number): Promise<void> {
    const { nflog, config } = this.#d;
    for (const [id, key] of this.#mine) {
      const stored = nflog.get(key);
      if (!stored || stored.record.notification.id !== id || stored.record.owner !== this.#me || stored.record.delivery !== 'pending') {
        this.#mine.delete(id);
        continue;
      }
      if (stored.record.leaseUntil - now < config.leaseMs / 2)
        await nflog.write(key, { ...stored.record, leaseUntil: now + config.leaseMs }, stored.revision);
    }
    for (const [key, stored] of [...nflog.all()]) {
      const r = stored.record;
      if (r.delivery !== 'pending' || r.owner === this.#me || r.leaseUntil > now || !this.#queues.has(r.target)) continue;
      const revision = await nflog.write(key, { ...r, owner: this.#me, leaseUntil: now + config.leaseMs }, stored.revision);
      if (revision === null) continue;
      this.#d.log.info({ notification: r.notification.id, from: r.owner }, 'took over a delivery its owner left');
      this.#send(key, r.target, r.notification);
    }
  }

  #superseded(id: string): boolean {
    const key = this.#mine.get(id);
    const stored = key === undefined ? undefined : this.#d.nflog.get(key);
    return !stored || stored.record.notification.id !== id || stored.record.owner !== this.#me;
  }

  /** The receiver and the kind of a notification of ours, for metrics. */
  #labelsOf(id: string): { receiver: string; kind: NotificationKind } {
    const key = this.#mine.get(id);
    const n = key === undefined ? undefined : this.#d.nflog.get(key)?.record.notification;
    if (!n) return { receiver: '', kind: 'firing' };
    return { receiver: n.receiver, kind: n.status === 'resolved' ? 'resolved' : n.acknowledged ? 'acknowledged' : 'firing' };
  }

  #failed(id: string, err: unknown, willRetry: boolean): void {
    const code = (err as { code?: unknown }).code;
    const labels = this.#labelsOf(id);
    this.#d.metrics.notifications.inc({ ...labels, result: willRetry ? 'retried' : 'failed' });
    this.#d.log.warn({ ...labels, notification: id, code, err: (err as Error).message, willRetry }, 'delivery failed');
    if (!willRetry) this.#finished(id, 'abandoned', 0, 0, typeof code === 'string' ? code : 'FAILED');
  }

  /** Records the end of a delivery in the log (retrying a lost race while the notification is still ours). */
  #finished(id: string, delivery: 'delivered' | 'abandoned', attempts: number, latencyMs: number, error: string): void {
    const key = this.#mine.get(id);
    if (key === undefined) return;
    if (delivery === 'delivered') {
      const labels = this.#labelsOf(id);
      this.#d.metrics.notifications.inc({ ...labels, result: 'delivered' });
      this.#d.metrics.deliverySeconds.observe(labels, latencyMs / 1000);
    }
    const record = async (tries: number): Promise<void> => {
      const current = this.#d.nflog.get(key);
      if (!current || current.record.notification.id !== id) return;
      const done = { ...current.record, delivery, attempts, doneAt: this.#d.clock(), error };
      if ((await this.#d.nflog.write(key, done, current.revision)) === null && tries > 0) await record(tries - 1);
    };
    record(3)
      .catch((err: Error) => this.#d.log.error({ err: err.message, notification: id }, 'delivery not recorded in the notification log'))
      .finally(() => this.#mine.delete(id));
  }
}

function silenceOf(d: SilenceDoc): Silence {
  return {
    id: d._id,
    matchers: parseMatchers(d.matchers),
    startsAt: d.startsAt.getTime(),
    endsAt: d.endsAt.getTime(),
    createdBy: d.createdBy,
    comment: d.comment,
  };
}

/**
 * The flush decision for a group against its last log record. A record that only told the
 * receiver its group resolved ended that incident: a new alert in the group starts a new
 * one (group_wait again), with the log's sequence going on.
 */
export function decideGroup(
  group: Group,
  last: LogRecord | undefined,
  firstSeen: number,
  receiver: Pick<Receiver, 'refreshMs' | 'sendResolved'>,
  now: number,
): FlushDecision {
  const ended = last !== undefined && last.firing.length === 0 && last.delivery !== 'pending';
  const decision = decideFlush({
    alerts: group.alerts,
    timers: group.route.timers,
    firstAlertAt: firstSeen,
    last: last && !ended ? last : null,
    refreshMs: receiver.refreshMs,
    sendResolved: receiver.sendResolved ?? true,
    now,
  });
  return decision.kind === 'notify' && last ? { ...decision, seq: last.seq + 1 } : decision;
}
