// The write side of the insert-only run store: state versions and step records, committed
// in groups. Commits of one plan that arrive while its previous group is being written
// wait and go together: one insert of their step records, one of their state versions,
// one ticket (run-versions.ts) for all of them. Under load a group holds every commit
// that arrived during one write, so the store sees three commands per group instead of
// three per commit (at 1,000 hosts a step cost 3.4 inserts, each a SQLite transaction in
// FerretDB: its CPU per host was larger than the scheduler's, BENCHMARKS.md "Scale"); idle,
// a commit is written at once.
//
// Each version insert is still a compare-and-swap on its unique `_id` (`key#version`): a
// duplicate refuses that commit alone (StaleWriteError), the others of its group stand.
import { duplicateIndexes, FencedError, isDuplicateKey, onlyDuplicates, StaleWriteError } from '@yixing/common';
import type { Models, RunStateDoc, RunStepDoc } from './models.ts';
import { ticketId } from './run-versions.ts';

/** One commit waiting for its group. */
interface PendingCommit {
  steps: RunStepDoc[];
  state: RunStateDoc;
  settled: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PlanQueue {
  pending: PendingCommit[];
  /** A group of this plan is being written (the next waits for it). */
  writing: boolean;
  scheduled: boolean;
}

/** Commits written in one group at most: each insert stays a few hundred kilobytes. */
export const MAX_GROUP = 500;

/** Who writes, and what to do when a write finds itself fenced. */
export interface RunCommitterOptions {
  /** The writer's lease epoch (a scheduler without a lease: 0). */
  epoch?: () => number;
  /** A ticket was refused: a later leader fenced this one. Called once. */
  onFenced?: (err: FencedError) => void;
}

export class RunCommitter {
  readonly #m: Models;
  readonly #epoch: () => number;
  readonly #onFenced: (err: FencedError) => void;
  /** The last ticket number this writer used (or fenced) per plan. */
  readonly #seqs = new Map<string, number>();
  readonly #queues = new Map<string, PlanQueue>();
  #fenced: FencedError | undefined;

  constructor(models: Models, opts: RunCommitterOptions = {}) {
    this.#m = models;
    this.#epoch = opts.epoch ?? (() => 0);
    this.#onFenced = opts.onFenced ?? (() => {});
  }

  /**
   * Writes a run's new step records and its state version `state` (its `_id` the next
   * version) with the plan's next group. Resolves once its ticket is in: the version counts.
   */
  commit(planId: string, steps: RunStepDoc[], state: RunStateDoc): Promise<void> {
    if (this.#fenced) return Promise.reject(this.#fenced);
    return new Promise<void>((resolve, reject) => {
      let q = this.#queues.get(planId);
      if (!q) {
        q = { pending: [], writing: false, scheduled: false };
        this.#queues.set(planId, q);
      }
      q.pending.push({ steps, state, settled: false, resolve, reject });
      this.#schedule(planId, q);
    });
  }

  #schedule(planId: string, q: PlanQueue): void {
    if (q.writing || q.scheduled || q.pending.length === 0) return;
    q.scheduled = true;
    // After this turn: the commits made in it join the group.
    setImmediate(() => {
      q.scheduled = false;
      q.writing = true;
      const group = q.pending.splice(0, MAX_GROUP);
      void this.#write(planId, group).finally(() => {
        q.writing = false;
        if (q.pending.length > 0) this.#schedule(planId, q);
        else if (!q.scheduled) this.#queues.delete(planId);
      });
    });
  }

  /** Writes one group; settles each of its commits, never rejects. */
  async #write(planId: string, group: PendingCommit[]): Promise<void> {
    const settle = (c: PendingCommit, err?: unknown): void => {
      if (c.settled) return;
      c.settled = true;
      if (err === undefined) c.resolve();
      else c.reject(err);
    };
    try {
      const steps = group.flatMap((c) => c.steps);
      if (steps.length > 0) {
        try {
          await this.#m.RunStep.insertMany(steps, { ordered: false, lean: true });
        } catch (err) {
          // A record written before (a retried commit) is the same record.
          if (!onlyDuplicates(err)) throw err;
        }
      }
      if (this.#fenced) throw this.#fenced;
      await this.#knowSeq(planId);
      const seq = (this.#seqs.get(planId) ?? 0) + 1;
      this.#seqs.set(planId, seq);
      const epoch = this.#epoch();
      let refused = new Set<number>();
      try {
        await this.#m.RunState.insertMany(
          group.map((c) => ({ ...c.state, epoch, ticket: seq })),
          { ordered: false, lean: true },
        );
      } catch (err) {
        const duplicates = duplicateIndexes(err, group.length);
        // Anything else: which versions went in is unknown, and without a ticket none counts.
        if (!duplicates) throw err;
        refused = duplicates;
      }
      const written: PendingCommit[] = [];
      for (const [i, c] of group.entries()) {
        if (!refused.has(i)) {
          written.push(c);
          continue;
        }
        settle(
          c,
          new StaleWriteError(`run ${c.state.key}: version ${c.state.version} was written by someone else`, {
            details: { key: c.state.key, version: c.state.version },
          }),
        );
      }
      if (written.length === 0) return;
      try {
        await this.#m.RunTicket.create({ _id: ticketId(planId, seq), planId, seq, epoch, fence: false, at: new Date() });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        throw this.#fence(
          new FencedError(`plan ${planId}: ticket ${seq} is taken: a later leader fenced epoch ${epoch}`, {
            cause: err,
            details: { planId, seq, epoch },
          }),
        );
      }
      for (const c of written) settle(c);
    } catch (err) {
      for (const c of group) settle(c, err);
    }
  }

  #fence(err: FencedError): FencedError {
    if (!this.#fenced) {
      this.#fenced = err;
      this.#onFenced(err);
    }
    return this.#fenced;
  }

  /**
   * A leader taking over: inserts a fence ticket at the next free number of each plan, so
   * that a deposed leader's next ticket is refused and its later ones do not count. Call
   * before reading the plans' runs.
   */
  async fencePlans(planIds: readonly string[]): Promise<void> {
    const epoch = this.#epoch();
    for (const planId of planIds) {
      for (;;) {
        const seq = (await this.#lastSeq(planId)) + 1;
        try {
          await this.#m.RunTicket.create({ _id: ticketId(planId, seq), planId, seq, epoch, fence: true, at: new Date() });
          this.#seqs.set(planId, seq);
          break;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
        }
      }
    }
  }

  async #lastSeq(planId: string): Promise<number> {
    const last = await this.#m.RunTicket.findOne({ planId }, { seq: 1 }).sort({ seq: -1 }).lean<{ seq: number }>();
    return last?.seq ?? 0;
  }

  async #knowSeq(planId: string): Promise<void> {
    if (!this.#seqs.has(planId)) {
      const seq = await this.#lastSeq(planId);
      if (!this.#seqs.has(planId)) this.#seqs.set(planId, seq);
    }
  }
}
