// A leader lease on a JetStream KV key: one replica of a service acts, the others stand
// by and take over when it stops renewing. Every write of the key is a compare-and-swap
// (the stream refuses a publish whose expected last sequence of the key is not the
// current one), replicated like the bucket (R3 in a NATS cluster). The epoch in the
// value is the fencing token: whatever the leader writes or sends carries it, and a
// receiver that has seen a higher one refuses it. When to write is lease-decision.ts.
import { EventEmitter } from 'node:events';
import type { JetStreamClient } from '@nats-io/jetstream';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { LEASE_BUCKET } from '../bus/bus-identities.ts';
import { YxError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  DEFAULT_LEASE_TIMINGS,
  type HeldLease,
  holds,
  type LeaseRecord,
  type LeaseTimings,
  nextLeaseStep,
  observe,
  type SeenLease,
  timingProblems,
} from './lease-decision.ts';

export * from './lease-decision.ts';

/** This replica is not the leader: writes go to the one that is. */
export class NotLeaderError extends YxError {
  readonly code = 'NOT_LEADER';
  readonly retryable = true;
  override readonly httpStatus = 503;
  override readonly retryAfterSeconds = 1;
}

/** A write carried an epoch below one already seen: it comes from a deposed leader. */
export class FencedError extends YxError {
  readonly code = 'FENCED';
  readonly retryable = false;
  override readonly httpStatus = 409;
}

const isConflict = (err: unknown): boolean =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

export interface LeaderLeaseOptions {
  js: JetStreamClient;
  /** The key: the service's name. */
  key: string;
  /** This process: unique per process. */
  holder: string;
  /** The replica's stable name (empty: none; then a restart waits out the time-to-live). */
  replica?: string;
  /** Where this replica serves its API (may be set later, before start: advertise). */
  url?: string;
  replicas: number;
  log: Logger;
  timings?: LeaseTimings;
  /** Monotonic ms (decisions) and wall ms (epoch floor); injectable for tests. */
  monotonic?: () => number;
  wall?: () => number;
}

export interface LeaseEvents {
  /** This replica became the leader with this epoch. */
  elected: [epoch: number];
  /** This replica stopped being the leader (another took over, or it could not renew in time). */
  deposed: [reason: string];
}

export class LeaderLease extends EventEmitter<LeaseEvents> {
  readonly #kv: KV;
  readonly #o: Required<Omit<LeaderLeaseOptions, 'js'>>;
  #held: HeldLease | null = null;
  #seen: SeenLease | null = null;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  #looked!: (role: 'leader' | 'follower') => void;
  readonly #firstLook = new Promise<'leader' | 'follower'>((resolve) => {
    this.#looked = resolve;
  });

  private constructor(kv: KV, o: Required<Omit<LeaderLeaseOptions, 'js'>>) {
    super();
    this.#kv = kv;
    this.#o = o;
  }

  static async open(opts: LeaderLeaseOptions): Promise<LeaderLease> {
    const timings = opts.timings ?? DEFAULT_LEASE_TIMINGS;
    const problems = timingProblems(timings);
    if (problems.length > 0) throw new RangeError(`lease timings: ${problems.join('; ')}`);
    const kv = await new Kvm(opts.js).create(LEASE_BUCKET, {
      history: 1,
      replicas: opts.replicas,
      description: 'Yixing: leader leases (one key per service; the value holds the fencing epoch)',
    });
    const { js: _js, ...rest } = opts;
    return new LeaderLease(kv, {
      monotonic: () => performance.now(),
      wall: Date.now,
      replica: '',
      url: '',
      ...rest,
      timings,
    });
  }

  /** Where this replica serves its API, once it listens: in the value it writes, for followers. */
  advertise(url: string): void {
    this.#o.url = url;
  }

  /** Starts campaigning (and, once leader, renewing). */
  start(): void {
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops; a leader deletes its key so that a follower takes over at its next look. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#loop;
    const held = this.#held;
    this.#held = null;
    // Let go for the next leader; the caller knows it stopped (no `deposed`).
    if (held) await this.#kv.delete(this.#o.key, { previousSeq: held.revision }).catch(() => undefined);
  }

  /** Resolves once this replica first knows its role: it took the lease, or another holds it. */
  firstLook(): Promise<'leader' | 'follower'> {
    return this.#firstLook;
  }

  /** True while this replica may act as the leader (renewed within the deadline). */
  isLeader(): boolean {
    return holds(this.#held, this.#o.monotonic(), this.#o.timings);
  }

  /** The epoch of the lease this replica holds; throws NotLeaderError when it holds none. */
  epoch(): number {
    if (!this.#held || !this.isLeader()) throw new NotLeaderError(`${this.#o.holder} is not the leader`, { details: this.leaderHint() });
    return this.#held.epoch;
  }

  /** Who holds the lease, as this replica last saw it. */
  leaderHint(): { leader?: string; url?: string } {
    const rec = this.#seen?.record;
    if (this.#held) return { leader: this.#o.holder, url: this.#o.url };
    return rec ? { leader: rec.holder, url: rec.url } : {};
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#loop = this.#step()
        .then(() => this.#looked(this.#held ? 'leader' : 'follower'))
        .catch((err: Error) => {
          this.#o.log.warn({ err: err.message, key: this.#o.key }, 'lease: store not reachable');
          this.#schedule(Math.min(500, this.#o.timings.renewMs));
        });
    }, ms);
  }

  async #step(): Promise<void> {
    const { key, timings, monotonic, wall, holder, url, log, replica } = this.#o;
    if (!this.#held) {
      const e = await this.#kv.get(key);
      const live = e !== null && e.operation === 'PUT';
      this.#seen = observe(this.#seen, live ? e.revision : 0, live ? e.json<LeaseRecord>() : null, monotonic());
    }
    const step = nextLeaseStep({ held: this.#held, seen: this.#seen }, monotonic(), wall(), timings, replica);
    switch (step.kind) {
      case 'wait':
        return this.#schedule(Math.max(step.ms, 10));
      case 'step-down':
        this.#depose('could not renew the lease in time');
        return this.#schedule(0);
      case 'renew': {
        const held = this.#held as HeldLease;
        const started = monotonic();
        try {
          const record: LeaseRecord = { holder, replica, epoch: held.epoch, url };
          const revision = await this.#kv.update(key, JSON.stringify(record), step.expected);
          if (this.#held === held) this.#held = { ...held, revision, renewedAt: started };
        } catch (err) {
          if (!isConflict(err)) throw err;
          this.#depose('another replica took the lease');
        }
        return this.#schedule(0);
      }
      case 'acquire': {
        const started = monotonic();
        const record: LeaseRecord = { holder, replica, epoch: step.epoch, url };
        try {
          const revision =
            step.expected === 0
              ? await this.#kv.create(key, JSON.stringify(record))
              : await this.#kv.update(key, JSON.stringify(record), step.expected);
          this.#held = { epoch: step.epoch, revision, renewedAt: started };
          this.#seen = { revision, record, since: started };
          log.info({ key, epoch: step.epoch, holder }, 'lease: elected');
          this.emit('elected', step.epoch);
        } catch (err) {
          // Another replica was faster: it leads; look again later.
          if (!isConflict(err)) throw err;
        }
        return this.#schedule(0);
      }
    }
  }

  #depose(reason: string): void {
    if (!this.#held) return;
    this.#held = null;
    this.#seen = null;
    this.#o.log.warn({ key: this.#o.key, reason }, 'lease: deposed');
    this.emit('deposed', reason);
  }
}
