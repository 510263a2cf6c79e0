// The notification log: per (receiver, group), what the receiver was last told, and
// whether that notification is delivered yet. It is what keeps two replicas (or one
// restarted) from notifying twice, so every change of it is a compare-and-swap: a JetStream
// KV update with the revision it read (the stream refuses a publish whose expected last
// sequence of the key is not the current one). MongoDB could do the claim with an
// `_id`-keyed insert, but not the take-over of a dead replica's delivery, which must also
// be a CAS; FerretDB v1's conditional updates are not one.
//
// Every replica watches the whole bucket, so each knows every group's last notification
// a moment after any replica wrote it.
import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { ALERT_LOG_BUCKET, type Logger } from '@yixing/common';
import type { NotificationLogEntry } from '../engine/flush.ts';
import type { Notification } from '../model/alert.ts';

export type DeliveryState = 'pending' | 'delivered' | 'abandoned';

/** How long a (receiver, group) record outlives its last notification. */
export const LOG_RECORD_TTL_MS = 7 * 86_400_000;

export interface LogRecord extends NotificationLogEntry {
  /** The integration of the receiver (`<receiver>/<index>`) this notification goes to. */
  target: string;
  receiver: string;
  groupKey: string;
  delivery: DeliveryState;
  /** The replica delivering it, and until when its claim holds unless renewed. */
  owner: string;
  leaseUntil: number;
  /** What to send: a replica that takes over sends exactly this. */
  notification: Notification;
  attempts: number;
  /** Epoch ms it was delivered (or abandoned); null while pending. */
  doneAt: number | null;
  /** Why it was abandoned (the receiver refused it for good). */
  error: string;
}

export interface Stored {
  record: LogRecord;
  revision: number;
}

/**
 * The KV key of a (target, group), where a target is one integration of a receiver
 * (`<receiver>/<index>`): a hash, as group keys hold characters KV keys may not.
 */
export function logKey(target: string, groupKey: string): string {
  return `n.${createHash('sha256').update(`${target}\n${groupKey}`).digest('hex').slice(0, 40)}`;
}

const isConflict = (err: unknown): boolean =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

export class NotificationLog {
  readonly #kv: KV;
  readonly #log: Logger;
  readonly #entries = new Map<string, Stored>();
  #watching: Promise<void> | undefined;
  #stopWatch: (() => void) | undefined;

  private constructor(kv: KV, log: Logger) {
    this.#kv = kv;
    this.#log = log;
  }

  static async open(js: JetStreamClient, log: Logger, replicas: number): Promise<NotificationLog> {
    const kv = await new Kvm(js).create(ALERT_LOG_BUCKET, {
      history: 1,
      replicas,
      // Every notification rewrites its group's record, so only groups that ended long ago
      // expire; a group firing on with a repeat_interval over a week starts over (group_wait).
      ttl: LOG_RECORD_TTL_MS,
      description: 'Yixing alerting: the last notification of each receiver and group',
    });
    return new NotificationLog(kv, log);
  }

  /** Starts following the bucket; resolves once every stored record was read. */
  async start(): Promise<void> {
    const watch = await this.#kv.watch({ key: '>' });
    this.#stopWatch = () => watch.stop();
    let loaded!: () => void;
    const ready = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    this.#watching = (async () => {
      for await (const e of watch) {
        if (e.operation === 'PUT') this.#remember(e.key, e.json<LogRecord>(), e.revision);
        else this.#entries.delete(e.key);
        if (e.delta === 0) loaded();
      }
    })().catch((err: Error) => this.#log.error({ err: err.message }, 'notification log watch ended'));
    // An empty bucket sends no entry: ask it how many it holds.
    if ((await this.#kv.status()).values === 0) loaded();
    await ready;
  }

  async stop(): Promise<void> {
    this.#stopWatch?.();
    await this.#watching;
  }

  get(key: string): Stored | undefined {
    return this.#entries.get(key);
  }

  all(): IterableIterator<[string, Stored]> {
    return this.#entries.entries();
  }

  #remember(key: string, record: LogRecord, revision: number): void {
    const known = this.#entries.get(key);
    if (!known || known.revision < revision) this.#entries.set(key, { record, revision });
  }

  /**
   * Writes `record` if the key is still at `revision` (0: it must not exist). Returns the
   * new revision, or null when another writer moved first (what it wrote is then read).
   */
  async write(key: string, record: LogRecord, revision: number): Promise<number | null> {
    const data = JSON.stringify(record);
    try {
      const next = revision === 0 ? await this.#kv.create(key, data) : await this.#kv.update(key, data, revision);
      this.#remember(key, record, next);
      return next;
    } catch (err) {
      if (!isConflict(err)) throw err;
      await this.#refresh(key);
      return null;
    }
  }

  /** Reads a key again from the bucket (after a lost race). */
  async #refresh(key: string): Promise<Stored | undefined> {
    const e = await this.#kv.get(key);
    if (e && e.operation === 'PUT') this.#remember(key, e.json<LogRecord>(), e.revision);
    return this.#entries.get(key);
  }
}
