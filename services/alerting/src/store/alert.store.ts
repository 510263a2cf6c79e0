// The alerts, one document per fingerprint, shared by every alerting replica. Events are
// applied by whichever replica's consumer took them, in any order, so every field that
// decides an alert's state only ever moves forward: the latest fire and the latest
// resolve are kept with $max, and the alert fires while its latest fire is the later one.
// Applying an event twice, or two events out of order, ends in the same document; no
// compare-and-swap is needed (FerretDB v1 has none for updates).
import { isDuplicateKey } from '@yixing/common';
import type { CursorKey } from '@yixing/common/http';
import { type Connection, type Model, Schema } from 'mongoose';
import { expiryOf } from '../engine/expiry.ts';
import type { Alert, AlertStatus, LabelSet } from '../model/alert.ts';

export interface AlertDoc {
  /** The fingerprint of the labels. */
  _id: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The console path of what failed (joined to YX_CONSOLE_URL for links). */
  path: string;
  /** When the current episode started firing. */
  startsAt: Date;
  /** The latest event that fired it, and the latest that resolved it (epoch 0: never). */
  firedAt: Date;
  resolvedAt: Date;
  /**
   * Who resolved it last: `rule` (its condition ended), `prometheus` (sent resolved),
   * `expired` (a pushed alert not sent again before its endsAt) or the operator's identity.
   */
  resolvedBy: string;
  /** Acknowledged at (epoch 0: never); an acknowledgement counts for the episode it was made in. */
  ackedAt: Date;
  ackedBy: string;
  /** The writer's clock at its latest change: replicas load what changed since they last looked. */
  changedAt: Date;
  /**
   * The later of the latest fire and the latest resolve, as `<epoch ms, 15 digits>:fire` or
   * `…:resolve` ($max, like the dates): what the API's state filter queries, since FerretDB v1
   * cannot compare two fields. `resolve` sorts after `fire`, as a tie is resolved (isFiring).
   */
  latest: string;
  /**
   * A pushed alert's endsAt (Alertmanager API v2): it resolves then unless sent again
   * ($max: replicas receive each send). Epoch 0 (or absent, in older documents): never.
   */
  expiresAt?: Date;
  /** A pushed alert's generatorURL (the Prometheus expression): its link instead of the console's. */
  generatorUrl?: string;
  /** The span that last fired it (its event's evaluation, in the run's trace); '' or absent: none. */
  traceparent?: string;
}

const NEVER = new Date(0);

const schema = new Schema<AlertDoc>(
  {
    _id: String,
    labels: { type: Object, default: {} },
    annotations: { type: Object, default: {} },
    path: { type: String, default: '' },
    startsAt: Date,
    firedAt: Date,
    resolvedAt: { type: Date, default: NEVER },
    resolvedBy: { type: String, default: '' },
    ackedAt: { type: Date, default: NEVER },
    ackedBy: { type: String, default: '' },
    changedAt: Date,
    latest: { type: String, default: '' },
    expiresAt: { type: Date, default: NEVER },
    generatorUrl: { type: String, default: '' },
    traceparent: { type: String, default: '' },
  },
  { collection: 'alerts', versionKey: false, minimize: false },
);
schema.index({ changedAt: 1 });
schema.index({ 'labels.plan': 1, 'labels.host': 1 });
schema.index({ startsAt: -1, _id: -1 });
schema.index({ expiresAt: 1 });

/** The `latest` key of an event at `at`. */
export const latestKey = (at: number, event: 'fire' | 'resolve'): string => `${String(at).padStart(15, '0')}:${event}`;

/** What the API lists: a state and label values, all optional. */
export interface AlertQuery {
  state?: AlertStatus;
  labels?: LabelSet;
}

/** The stored filter of a query (and of a page after `after`, newest first by startsAt). */
export function alertFilter(q: AlertQuery, after: CursorKey | null): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (q.state) filter.latest = { $regex: q.state === 'firing' ? ':fire$' : ':resolve$' };
  for (const [k, v] of Object.entries(q.labels ?? {})) filter[`labels.${k}`] = v;
  if (after) {
    const at = new Date(after.at);
    filter.$or = [{ startsAt: { $lt: at } }, { startsAt: at, _id: { $lt: after.id } }];
  }
  return filter;
}

export const isFiring = (d: Pick<AlertDoc, 'firedAt' | 'resolvedAt'>): boolean => d.firedAt.getTime() > d.resolvedAt.getTime();
export const isAcknowledged = (d: Pick<AlertDoc, 'ackedAt' | 'startsAt'>): boolean => d.ackedAt.getTime() >= d.startsAt.getTime();
export const statusOf = (d: AlertDoc): AlertStatus => (isFiring(d) ? 'firing' : 'resolved');

/** The alert as notifications carry it; `consoleUrl` + its path is the link. */
export function alertOf(d: AlertDoc, consoleUrl: string): Alert {
  return {
    fingerprint: d._id,
    labels: d.labels,
    annotations: d.annotations,
    startsAt: d.startsAt.getTime(),
    endsAt: isFiring(d) ? null : d.resolvedAt.getTime(),
    link: d.generatorUrl ? d.generatorUrl : `${consoleUrl}${d.path}`,
    ...(d.traceparent ? { traceparent: d.traceparent } : {}),
  };
}

/** The epoch ms a stored alert resolves at on its own, if that has come by `now` (engine/expiry.ts). */
export const expiryOfDoc = (d: AlertDoc, now: number): number | null =>
  expiryOf({ firedAt: d.firedAt.getTime(), resolvedAt: d.resolvedAt.getTime(), expiresAt: d.expiresAt?.getTime() ?? 0 }, now);

export interface FireInput {
  fingerprint: string;
  labels: LabelSet;
  annotations: LabelSet;
  path: string;
  at: number;
  /** When a new episode started, if not `at` (a pushed alert's startsAt). */
  startsAt?: number;
  /** A pushed alert: it resolves at this epoch ms unless fired again. */
  expiresAt?: number;
  generatorUrl?: string;
  /** The span firing it (its event's evaluation): deliveries link to it. */
  traceparent?: string;
}

export class AlertStore {
  readonly #model: Model<AlertDoc>;
  readonly #clock: () => number;

  constructor(conn: Connection, clock: () => number) {
    this.#model = conn.models.Alert ?? conn.model<AlertDoc>('Alert', schema);
    this.#clock = clock;
  }

  get model(): Model<AlertDoc> {
    return this.#model;
  }

  /**
   * Fires the alert as of `at`. An alert that had resolved before `at` starts a new episode
   * (a new start, no acknowledgement); one that fires already keeps its start.
   */
  async fire(input: FireInput): Promise<void> {
    const at = new Date(input.at);
    const startsAt = new Date(input.startsAt ?? input.at);
    const pushed = input.generatorUrl !== undefined ? { generatorUrl: input.generatorUrl } : {};
    const expiry = input.expiresAt !== undefined ? { expiresAt: new Date(input.expiresAt) } : {};
    const traced = input.traceparent ? { traceparent: input.traceparent } : {};
    const changedAt = new Date(this.#clock());
    const existing = await this.#model.findById(input.fingerprint).lean<AlertDoc>();
    if (!existing) {
      try {
        await this.#model.create({
          _id: input.fingerprint,
          labels: input.labels,
          annotations: input.annotations,
          path: input.path,
          startsAt,
          firedAt: at,
          resolvedAt: NEVER,
          resolvedBy: '',
          ackedAt: NEVER,
          ackedBy: '',
          changedAt,
          latest: latestKey(input.at, 'fire'),
          ...pushed,
          ...expiry,
          ...traced,
        });
        return;
      } catch (err) {
        // Another replica created it first: apply ours on top, like any later event.
        if (!isDuplicateKey(err)) throw err;
      }
    }
    const newEpisode = existing !== null && !isFiring(existing) && at.getTime() > existing.resolvedAt.getTime();
    // A pushed alert's startsAt may be older than its own expiry (its Prometheus was away):
    // the new episode starts after the last one ended, so that no earlier acknowledgement counts.
    const episodeStart = newEpisode ? new Date(Math.max(startsAt.getTime(), existing.resolvedAt.getTime() + 1)) : startsAt;
    await this.#model.updateOne(
      { _id: input.fingerprint },
      {
        $set: {
          annotations: input.annotations,
          path: input.path,
          ...pushed,
          ...traced,
          ...(newEpisode ? { startsAt: episodeStart, ackedBy: '' } : {}),
        },
        $max: { firedAt: at, changedAt, latest: latestKey(input.at, 'fire'), ...expiry },
      },
    );
  }

  /** Resolves, as of `at`, every alert named `names` whose labels include `where`. */
  async resolveWhere(names: readonly string[], where: LabelSet, at: number, by = 'rule'): Promise<number> {
    const filter: Record<string, unknown> = { 'labels.alertname': { $in: [...names] }, firedAt: { $lt: new Date(at) } };
    for (const [k, v] of Object.entries(where)) filter[`labels.${k}`] = v;
    const res = await this.#model.updateMany(filter, {
      $set: { resolvedBy: by },
      $max: { resolvedAt: new Date(at), changedAt: new Date(this.#clock()), latest: latestKey(at, 'resolve') },
    });
    return res.modifiedCount;
  }

  /** Resolves one alert as of `at` (a pushed alert sent with its endsAt past) unless it fired at or after `at`. */
  async resolveAt(fingerprint: string, at: number, by: string): Promise<boolean> {
    const res = await this.#model.updateOne(
      { _id: fingerprint, firedAt: { $lt: new Date(at) } },
      {
        $set: { resolvedBy: by },
        $max: { resolvedAt: new Date(at), changedAt: new Date(this.#clock()), latest: latestKey(at, 'resolve') },
      },
    );
    return res.modifiedCount > 0;
  }

  /**
   * Resolves, at their endsAt, the pushed alerts that fire and were not sent again before it
   * (`expired` as resolvedBy). Each update holds only while the alert is as it was read: a
   * send that lands in between moved its expiry, and the alert keeps firing.
   */
  async expireDue(now: number): Promise<string[]> {
    const due = await this.#model.find({ expiresAt: { $gt: NEVER, $lte: new Date(now) }, latest: { $regex: ':fire$' } }).lean<AlertDoc[]>();
    const expired: string[] = [];
    for (const d of due) {
      const at = expiryOfDoc(d, now);
      if (at === null) continue;
      const res = await this.#model.updateOne(
        { _id: d._id, expiresAt: d.expiresAt, firedAt: d.firedAt },
        {
          $set: { resolvedBy: 'expired' },
          $max: { resolvedAt: new Date(at), changedAt: new Date(this.#clock()), latest: latestKey(at, 'resolve') },
        },
      );
      if (res.modifiedCount > 0) expired.push(d._id);
    }
    return expired;
  }

  /** An operator resolves one alert by hand; it fires again only on a later event. */
  async resolve(fingerprint: string, actor: string): Promise<AlertDoc | null> {
    const now = new Date(this.#clock());
    await this.#model.updateOne(
      { _id: fingerprint },
      { $set: { resolvedBy: actor }, $max: { resolvedAt: now, changedAt: now, latest: latestKey(now.getTime(), 'resolve') } },
    );
    return await this.get(fingerprint);
  }

  /** An operator acknowledges one alert: repeats of it stop until it resolves and fires again. */
  async acknowledge(fingerprint: string, actor: string): Promise<AlertDoc | null> {
    const now = new Date(this.#clock());
    await this.#model.updateOne({ _id: fingerprint }, { $set: { ackedBy: actor }, $max: { ackedAt: now, changedAt: now } });
    return await this.get(fingerprint);
  }

  async get(fingerprint: string): Promise<AlertDoc | null> {
    return await this.#model.findById(fingerprint).lean<AlertDoc>();
  }

  /** Up to `limit` alerts of the query after `after`, newest start first (ties by fingerprint). */
  async page(q: AlertQuery, after: CursorKey | null, limit: number): Promise<AlertDoc[]> {
    return await this.#model.find(alertFilter(q, after)).sort({ startsAt: -1, _id: -1 }).limit(limit).lean<AlertDoc[]>();
  }

  /** Alerts changed at or after `since` (writer clocks: ask with a margin). */
  async changedSince(since: number): Promise<AlertDoc[]> {
    return await this.#model.find({ changedAt: { $gte: new Date(since) } }).lean<AlertDoc[]>();
  }

  /** Drops alerts resolved before `before` (the history the API keeps). */
  async forgetResolvedBefore(before: number): Promise<number> {
    const all = await this.#model
      .find({ resolvedAt: { $gt: NEVER, $lt: new Date(before) } }, { firedAt: 1, resolvedAt: 1 })
      .lean<AlertDoc[]>();
    const gone = all.filter((d) => !isFiring(d)).map((d) => d._id);
    if (gone.length === 0) return 0;
    return (await this.#model.deleteMany({ _id: { $in: gone } })).deletedCount;
  }
}
