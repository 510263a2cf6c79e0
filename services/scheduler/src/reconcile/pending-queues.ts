// A plan's pending runs as queues that admission can read without a scan: one queue per
// phase × failure domains (cluster, zone, rack) × kind (duration-prediction.ts), its runs
// longest predicted first, then in the plan's order. A queue's runs share every limit but
// the per-host ones, so a queue whose domain is full is passed over whole, whatever its
// length; and all runs of a queue share a kind, so the learnt correction never reorders a
// queue, only the queues against each other.
//
// Membership and positions are fixed when the queues are built (a run's phase, domains and
// prediction do not change); what changes is which runs are pending, kept up to date by
// the plan's run accounting (plan-runtime.ts): each queue's count of pending runs, its
// first pending run (its head), and the queues with a pending run in a heap by their
// heads: by phase, then the longest predicted, then the plan's order. Admission reads that
// heap in order and stops when it has taken what it may, so a tick pays for the queues it
// looks at, not for all of them.
import type { HostRunDoc } from '../db/models.ts';
import { BinaryHeap, IndexedHeap } from './binary-heap.ts';
import { DurationLearning, kindOf } from './duration-prediction.ts';

/** A run's predicted slot time in seconds (undefined: nothing known of its host). */
export type Predictor = (run: HostRunDoc) => number | undefined;

export interface PendingQueue {
  readonly phase: number;
  readonly cluster: string;
  readonly zone: string;
  readonly rack: string;
  readonly kind: string;
  /** `${domain}:${name}` of its cluster, zone and rack, as limits and in-flight counts are kept. */
  readonly domainKeys: readonly [string, string, string];
  /** Run keys, longest predicted first, then in the plan's order. */
  readonly keys: readonly string[];
  /** Index in `keys` of its first pending run (`keys.length` when none is). */
  head: number;
  /** Pending runs in the queue. */
  pending: number;
  /** Its head's corrected prediction and place in the plan's order: where the queue stands among the others. */
  headPriority: number;
  headOrder: number;
}

/** Lower phases first, then the longest predicted, then the plan's order. */
export const queueBefore = (a: PendingQueue, b: PendingQueue): boolean =>
  a.phase !== b.phase ? a.phase < b.phase : a.headPriority !== b.headPriority ? a.headPriority > b.headPriority : a.headOrder < b.headOrder;

/** A learnt correction that moved by more than this share orders the queues again. */
const REORDER_SHARE = 0.05;

interface Place {
  queue: PendingQueue;
  pos: number;
  predicted: number | undefined;
  /** The plan's order of the run (ties between equal predictions). */
  order: number;
}

/** The slot time a finished run took, from its last slot. */
export function slotSeconds(run: HostRunDoc): number | undefined {
  const slot = run.slots.at(-1);
  if (!slot?.releasedAt) return undefined;
  return (slot.releasedAt.getTime() - slot.takenAt.getTime()) / 1000;
}

export class PendingQueues {
  readonly #profile: string;
  readonly #places = new Map<string, Place>();
  readonly #pending = new Set<string>();
  /**
   * Pending runs deferred (notBefore), by key: when they may start. They join their queue
   * only then, so that a cluster whose check deferred its hosts costs admission nothing
   * until they are due.
   */
  readonly #deferredUntil = new Map<string, number>();
  #deferred = new BinaryHeap<{ at: number; key: string }>((a, b) => a.at < b.at);
  /** Queues with a pending run. */
  readonly #heads = new IndexedHeap<PendingQueue>(queueBefore);
  readonly #queues: PendingQueue[] = [];
  /** Each kind's correction when the queues were last ordered, and whether one has moved since. */
  readonly #orderedWith = new Map<string, number>();
  #reorder = false;
  #learning = new DurationLearning();
  #predicted = false;

  /** `runs` in the plan's order (by phase, then order). */
  constructor(profile: string, runs: Iterable<HostRunDoc>) {
    this.#profile = profile;
    this.#build(runs, () => undefined);
  }

  /** Whether predictWith was called. */
  get predicted(): boolean {
    return this.#predicted;
  }

  get learning(): DurationLearning {
    return this.#learning;
  }

  /**
   * Builds the queues again with each run's prediction, and learns again from the runs
   * that finished. Once per plan in the engine: predictions are taken when admission first
   * reads the plan; what finishes afterwards corrects them.
   */
  predictWith(predict: Predictor, runs: Iterable<HostRunDoc>): void {
    this.#build(runs, predict);
    this.#predicted = true;
  }

  #build(runs: Iterable<HostRunDoc>, predict: Predictor): void {
    this.#places.clear();
    this.#pending.clear();
    this.#deferredUntil.clear();
    this.#deferred = new BinaryHeap((a, b) => a.at < b.at);
    for (const q of this.#queues) this.#heads.remove(q);
    this.#queues.length = 0;
    this.#orderedWith.clear();
    this.#learning = new DurationLearning();
    const groups = new Map<string, { run: HostRunDoc; predicted: number | undefined }[]>();
    const finished: HostRunDoc[] = [];
    for (const run of runs) {
      const predicted = predict(run);
      const key = `${run.phase}\u0000${run.cluster}\u0000${run.zone}\u0000${run.rack}\u0000${kindOf(this.#profile, predicted)}`;
      const group = groups.get(key) ?? [];
      group.push({ run, predicted });
      groups.set(key, group);
      if (run.state === 'succeeded') finished.push(run);
    }
    for (const group of groups.values()) {
      group.sort((a, b) => (b.predicted ?? 0) - (a.predicted ?? 0) || a.run.order - b.run.order);
      const first = group[0]?.run as HostRunDoc;
      const queue: PendingQueue = {
        phase: first.phase,
        cluster: first.cluster,
        zone: first.zone,
        rack: first.rack,
        kind: kindOf(this.#profile, group[0]?.predicted),
        domainKeys: [`cluster:${first.cluster}`, `zone:${first.zone}`, `rack:${first.rack}`],
        keys: group.map((g) => g.run._id),
        head: group.length,
        pending: 0,
        headPriority: 0,
        headOrder: 0,
      };
      this.#queues.push(queue);
      group.forEach((g, pos) => {
        this.#places.set(g.run._id, { queue, pos, predicted: g.predicted, order: g.run.order });
        if (g.run.state === 'pending') this.added(g.run);
      });
    }
    for (const run of finished) this.finished(run);
    this.#reorderAll();
  }

  /** Queues with a pending run at `now`, by their heads (see `queueBefore`), read lazily. */
  byHead(now: number): Iterable<PendingQueue> {
    // Deferred runs now due join their queues (bookkeeping: they were pending all along).
    for (let d = this.#deferred.peek(); d && d.at <= now; d = this.#deferred.peek()) {
      this.#deferred.pop();
      // Else it left the pending state, or was deferred again, since.
      if (this.#deferredUntil.get(d.key) !== d.at) continue;
      this.#deferredUntil.delete(d.key);
      this.#enqueue(d.key);
    }
    if (this.#reorder) this.#reorderAll();
    return this.#heads.ordered();
  }

  /** The run's predicted slot time, corrected by what this plan learnt (0: nothing known yet). */
  priority(key: string): number {
    const p = this.#places.get(key);
    return p ? this.#learning.corrected(p.queue.kind, p.predicted) : 0;
  }

  /** The run's place in the plan's order. */
  orderOf(key: string): number {
    return this.#places.get(key)?.order ?? 0;
  }

  /** The position of the queue's first pending run at or after `from`, or -1. */
  nextPending(queue: PendingQueue, from: number): number {
    let i = Math.max(from, queue.head);
    while (i < queue.keys.length && !this.#pending.has(queue.keys[i] as string)) i++;
    return i < queue.keys.length ? i : -1;
  }

  /** The queue's head moved (or its kind's correction did): its place among the others. */
  #placeQueue(queue: PendingQueue): void {
    if (queue.pending === 0) {
      this.#heads.remove(queue);
      return;
    }
    const key = queue.keys[queue.head] as string;
    queue.headPriority = this.priority(key);
    queue.headOrder = this.orderOf(key);
    this.#heads.update(queue);
  }

  #reorderAll(): void {
    this.#reorder = false;
    for (const q of this.#queues) {
      this.#orderedWith.set(q.kind, this.#learning.corrected(q.kind, 1));
      if (q.pending === 0) continue;
      const key = q.keys[q.head] as string;
      q.headPriority = this.priority(key);
      q.headOrder = this.orderOf(key);
    }
    this.#heads.reorder();
  }

  /** A run became pending (or was found pending when the plan was loaded). */
  added(run: HostRunDoc): void {
    if (!this.#places.has(run._id) || this.#pending.has(run._id) || this.#deferredUntil.has(run._id)) return;
    if (run.notBefore) {
      const at = run.notBefore.getTime();
      this.#deferredUntil.set(run._id, at);
      this.#deferred.push({ at, key: run._id });
      return;
    }
    this.#enqueue(run._id);
  }

  #enqueue(key: string): void {
    const p = this.#places.get(key);
    if (!p) return;
    this.#pending.add(key);
    p.queue.pending++;
    if (p.pos < p.queue.head || p.queue.pending === 1) {
      p.queue.head = Math.min(p.pos, p.queue.head);
      this.#placeQueue(p.queue);
    }
  }

  /** A run left the pending state. */
  removed(run: HostRunDoc): void {
    if (this.#deferredUntil.delete(run._id)) return;
    const p = this.#places.get(run._id);
    if (!p || !this.#pending.delete(run._id)) return;
    const q = p.queue;
    q.pending--;
    if (p.pos !== q.head) return;
    const next = this.nextPending(q, p.pos + 1);
    q.head = next < 0 ? q.keys.length : next;
    this.#placeQueue(q);
  }

  /** A run succeeded: its slot time against its prediction corrects its kind's. */
  finished(run: HostRunDoc): void {
    const p = this.#places.get(run._id);
    const actual = slotSeconds(run);
    if (!p || actual === undefined) return;
    const kind = p.queue.kind;
    this.#learning.learn(kind, p.predicted, actual);
    // A kind's correction, or the plan's overall one (what kinds without their own take), moved.
    for (const [k, was] of this.#orderedWith) {
      const now = this.#learning.corrected(k, 1);
      if (Math.abs(now - was) > REORDER_SHARE * Math.max(was, 1e-9)) this.#reorder = true;
    }
  }
}
