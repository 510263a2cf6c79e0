// One receiver's deliveries: its own queue, rate limit and backoff, so a receiver that is
// down or slow holds up only its own notifications. One attempt at a time per receiver,
// oldest first; a notification waits behind an older one of its group (a resolved one must
// not overtake its firing one) unless the dispatcher says the older one is superseded.
// The outcome of every attempt goes to the callbacks (the notification log, metrics).
import { DeliveryError } from '../errors.ts';
import type { Notification } from '../model/alert.ts';
import type { Receiver } from '../receivers/receiver.ts';
import { nextDelay, type RetryPolicy } from './backoff.ts';
import { type DeliverySpan, deliverySpan } from './delivery-span.ts';
import { type Bucket, fullBucket, type RateLimit, takeToken } from './token-bucket.ts';

/** The clock and timers the queue runs on: the real ones, or a test's fake time. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface DeliveryCallbacks {
  /** Accepted by the receiver after `attempts` attempts, `latencyMs` after it was enqueued. */
  delivered(id: string, attempts: number, latencyMs: number): void;
  /** An attempt failed; `willRetry` false: the queue has dropped the notification. */
  failed(id: string, err: unknown, willRetry: boolean): void;
  /** Asked before every attempt: true drops the notification unsent (a newer one of its group replaces it). */
  superseded?(id: string): boolean;
}

export interface DeliveryQueueOptions {
  receiver: Receiver;
  retry: RetryPolicy;
  /** Unset: no limit. */
  rateLimit?: RateLimit;
  /** An attempt that has not ended by then is aborted (its signal) and counts as a retryable failure. */
  attemptTimeoutMs: number;
  callbacks: DeliveryCallbacks;
  timers?: Timers;
  /** [0, 1), for the backoff's jitter. */
  random?: () => number;
}

interface Item {
  notification: Notification;
  enqueuedAt: number;
  attempts: number;
  notBefore: number;
  span: DeliverySpan;
}

export class DeliveryQueue {
  readonly #o: DeliveryQueueOptions;
  readonly #t: Timers;
  readonly #items: Item[] = [];
  #bucket: Bucket | undefined;
  /** Retry-After applies to the destination, not only to the notification that got it. */
  #pausedUntil = 0;
  #inFlight: Promise<void> | undefined;
  #wake: { handle: unknown; at: number } | undefined;
  #stopped = false;

  constructor(opts: DeliveryQueueOptions) {
    this.#o = opts;
    this.#t = opts.timers ?? REAL_TIMERS;
    if (opts.rateLimit) this.#bucket = fullBucket(opts.rateLimit, this.#t.now());
  }

  get receiver(): Receiver {
    return this.#o.receiver;
  }

  /** Ids of the notifications not yet delivered nor dropped, oldest first. */
  pending(): string[] {
    return this.#items.map((i) => i.notification.id);
  }

  /** Queues a notification for this receiver; one already queued (same id) is not queued twice. */
  enqueue(n: Notification): void {
    if (this.#stopped) throw new Error(`delivery queue of receiver ${this.#o.receiver.name} is stopped`);
    if (n.receiver !== this.#o.receiver.name) {
      throw new Error(`notification ${n.id} is for receiver ${n.receiver}, not ${this.#o.receiver.name}`);
    }
    if (this.#items.some((i) => i.notification.id === n.id)) return;
    const now = this.#t.now();
    this.#items.push({ notification: n, enqueuedAt: now, attempts: 0, notBefore: now, span: deliverySpan(n) });
    this.#pump();
  }

  /** Starts no more attempts and waits for the one in flight (at most attemptTimeoutMs). Pending notifications stay unsent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sleep(undefined);
    await this.#inFlight;
    // Left pending, for another replica to take over (see the dispatcher's leases).
    for (const item of this.#items) item.span.end('left', item.attempts);
  }

  /**
   * The oldest notification whose time has come and that no older one of its group holds
   * back, dropping superseded ones on the way (a superseded one in backoff must not hold
   * back the newer one that replaces it); else when to look again.
   */
  #next(now: number): { item?: Item; wakeAt?: number } {
    const blocked = new Set<string>();
    let wakeAt: number | undefined;
    for (const item of [...this.#items]) {
      const group = item.notification.groupKey;
      if (blocked.has(group)) continue;
      if (this.#o.callbacks.superseded?.(item.notification.id)) {
        this.#remove(item);
        item.span.end('superseded', item.attempts);
        continue;
      }
      blocked.add(group);
      if (item.notBefore <= now) return { item };
      wakeAt = Math.min(wakeAt ?? item.notBefore, item.notBefore);
    }
    return wakeAt === undefined ? {} : { wakeAt };
  }

  #sleep(at: number | undefined): void {
    if (this.#wake && this.#wake.at === at) return;
    if (this.#wake) this.#t.clearTimeout(this.#wake.handle);
    this.#wake = undefined;
    if (at === undefined) return;
    const handle = this.#t.setTimeout(
      () => {
        this.#wake = undefined;
        this.#pump();
      },
      Math.max(0, at - this.#t.now()),
    );
    this.#wake = { handle, at };
  }

  #pump(): void {
    if (this.#stopped || this.#inFlight) return;
    const now = this.#t.now();
    const { item, wakeAt } = this.#next(now);
    const readyAt = item ? this.#readyAt(now) : wakeAt;
    if (!item || readyAt !== now) {
      this.#sleep(readyAt);
      return;
    }
    this.#sleep(undefined);
    this.#inFlight = this.#attempt(item)
      // A callback that throws is a bug of the caller's: it surfaces as an uncaught exception
      // rather than stopping this receiver's deliveries in silence.
      .catch((err: unknown) =>
        queueMicrotask(() => {
          throw err;
        }),
      )
      .finally(() => {
        this.#inFlight = undefined;
        this.#pump();
      });
  }

  /** `now` when the destination may take an attempt now (its token taken), else when it may. */
  #readyAt(now: number): number {
    if (this.#pausedUntil > now) return this.#pausedUntil;
    if (!this.#bucket || !this.#o.rateLimit) return now;
    const { bucket, waitMs } = takeToken(this.#bucket, this.#o.rateLimit, now);
    this.#bucket = bucket;
    return now + waitMs;
  }

  async #attempt(item: Item): Promise<void> {
    const { receiver, callbacks, attemptTimeoutMs } = this.#o;
    const n = item.notification;
    item.attempts++;
    const attemptSpan = item.span.attempt(item.attempts);
    const abort = new AbortController();
    let timer: unknown;
    const timedOut = new Promise<never>((_, reject) => {
      timer = this.#t.setTimeout(() => {
        const err = new DeliveryError(`receiver ${receiver.name} did not answer within ${attemptTimeoutMs} ms`, {
          code: 'RECEIVER_TIMEOUT',
          retryable: true,
        });
        abort.abort(err);
        reject(err);
      }, attemptTimeoutMs);
    });
    // A receiver that ignores its signal is not waited for past the timeout; its late answer is dropped.
    const sending = Promise.resolve().then(() => receiver.send(n, abort.signal));
    sending.catch(() => {});
    try {
      await Promise.race([sending, timedOut]);
      this.#remove(item);
      attemptSpan.end();
      item.span.end('delivered', item.attempts);
      callbacks.delivered(n.id, item.attempts, this.#t.now() - item.enqueuedAt);
    } catch (err) {
      const decision = nextDelay(item.attempts, err, this.#o.retry, this.#o.random ?? Math.random);
      const now = this.#t.now();
      // The destination's Retry-After holds every notification, also when this one is given up.
      const retryAfterMs = typeof err === 'object' && err !== null ? (err as { retryAfterMs?: unknown }).retryAfterMs : undefined;
      if (typeof retryAfterMs === 'number' && retryAfterMs > 0) {
        this.#pausedUntil = Math.max(this.#pausedUntil, now + Math.ceil(Math.min(retryAfterMs, this.#o.retry.maxRetryAfterMs)));
      }
      const why = err instanceof Error ? err.message : String(err);
      attemptSpan.end(why);
      if (decision.retry) item.notBefore = now + decision.delayMs;
      else {
        this.#remove(item);
        item.span.end('abandoned', item.attempts, why);
      }
      callbacks.failed(n.id, err, decision.retry);
    } finally {
      this.#t.clearTimeout(timer);
    }
  }

  #remove(item: Item): void {
    const i = this.#items.indexOf(item);
    if (i >= 0) this.#items.splice(i, 1);
  }
}

/** One DeliveryQueue per receiver, by receiver name: each notification goes to its receiver's queue. */
export class DeliveryQueues {
  readonly #queues = new Map<string, DeliveryQueue>();

  constructor(receivers: readonly Receiver[], options: (receiver: Receiver) => Omit<DeliveryQueueOptions, 'receiver'>) {
    for (const receiver of receivers) {
      if (this.#queues.has(receiver.name)) throw new Error(`two receivers are named ${receiver.name}`);
      this.#queues.set(receiver.name, new DeliveryQueue({ ...options(receiver), receiver }));
    }
  }

  get(receiver: string): DeliveryQueue | undefined {
    return this.#queues.get(receiver);
  }

  enqueue(n: Notification): void {
    const queue = this.#queues.get(n.receiver);
    if (!queue) throw new Error(`notification ${n.id} is for receiver ${n.receiver}, which is not configured`);
    queue.enqueue(n);
  }

  /** Stops every queue, waiting for their attempts in flight. */
  async stop(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.stop()));
  }
}
