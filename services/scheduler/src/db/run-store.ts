// Host-runs, stored insert-only. A state change inserts the next version of the run's
// state (`${key}#${version}`): the unique _id makes that insert a compare-and-swap, so a
// stale or replayed writer fails with StaleWriteError and changes nothing. Finished steps
// are inserted once each (`_id` = command id). Why not updates: on FerretDB v1 (SQLite)
// every update scans its collection (60 ms at 2,000 runs, growing with the plan), while an
// insert costs about 1 ms. MongoDB runs the same code. When a plan ends, its final states
// are compacted into host_runs and the versions are dropped.
//
// Fencing (two scheduler replicas): a version counts only once its plan's ticket is
// inserted after it, and a leader taking over fences every live plan's ticket sequence
// first (run-versions.ts decides what counts). Versions written together share one ticket:
// the ticket is inserted once the last of them is written, so a step costs one insert
// more per batch, not per version.
import { FencedError, isDuplicateKey, StaleWriteError, YxError } from '@yixing/common';
import type { HostRunDoc, Models, RunState, RunStateDoc, RunStepDoc, StepRecord } from './models.ts';
import { isCommitted, latestCommitted, type Resolved, type TicketDoc, ticketId, ticketRefs } from './run-versions.ts';

/** Some final run states could not be archived; compacting again (at start) may finish it. */
export class CompactionIncompleteError extends YxError {
  readonly code = 'RUN_ARCHIVE_INCOMPLETE';
  readonly retryable = true;
}

/** A bulk insert whose only refusals are duplicate keys (documents already there). */
function onlyDuplicateKeys(err: unknown): boolean {
  if (isDuplicateKey(err) && !(err as { writeErrors?: unknown }).writeErrors) return true;
  const writeErrors = (err as { writeErrors?: { code?: number }[] }).writeErrors;
  return Array.isArray(writeErrors) && writeErrors.length > 0 && writeErrors.every((e) => e.code === 11000);
}

function stateDoc(run: HostRunDoc, version: number): RunStateDoc {
  const { _id, history, ...rest } = run;
  return { ...rest, _id: `${_id}#${version}`, key: _id, version };
}

function fromState(doc: RunStateDoc, history: StepRecord[], top: number): HostRunDoc {
  const { _id, key, epoch: _epoch, ticket: _ticket, ...rest } = doc as RunStateDoc & { __v?: number };
  // The next write follows the highest version stored, counted or not.
  return { ...rest, _id: key, history, version: Math.max(rest.version, top) };
}

/** Who writes, and what to do when a write finds itself fenced. */
export interface RunStoreOptions {
  /** The writer's lease epoch (a scheduler without a lease: 0). */
  epoch?: () => number;
  /** A ticket was refused: a later leader fenced this one. Called once. */
  onFenced?: (err: FencedError) => void;
}

/** Versions of one plan written together, committed by one ticket. */
interface TicketBatch {
  planId: string;
  seq: number;
  epoch: number;
  closed: boolean;
  writing: number;
  written: number;
  done: Promise<void>;
  settle: (err?: unknown) => void;
}

/** What paging reads of a version to find the latest that counts. */
type LightVersion = {
  _id: string;
  key: string;
  planId: string;
  version: number;
  order: number;
  state: RunState;
  epoch?: number;
  ticket?: number;
};
type VersionLike = { planId: string; key: string; version: number; epoch?: number | null; ticket?: number | null };

function stepDoc(run: HostRunDoc, rec: StepRecord): RunStepDoc {
  return { ...rec, _id: rec.commandId, key: run._id, planId: run.planId, hostId: run.hostId, runId: run.runId };
}

function toRecord(doc: RunStepDoc): StepRecord {
  return {
    step: doc.step,
    attempt: doc.attempt,
    commandId: doc.commandId,
    dispatchedAt: doc.dispatchedAt,
    startedAt: doc.startedAt ?? null,
    finishedAt: doc.finishedAt ?? null,
    outcome: doc.outcome,
    kind: doc.kind ?? null,
    code: doc.code ?? '',
    message: doc.message ?? '',
    report: doc.report ?? '',
    ...(doc.factsDigest ? { factsDigest: doc.factsDigest } : {}),
  };
}

export class RunStore {
  readonly #m: Models;
  readonly #epoch: () => number;
  readonly #onFenced: (err: FencedError) => void;
  /** The last ticket number this writer used (or fenced) per plan. */
  readonly #seqs = new Map<string, number>();
  readonly #open = new Map<string, TicketBatch>();
  #fenced: FencedError | undefined;

  constructor(models: Models, opts: RunStoreOptions = {}) {
    this.#m = models;
    this.#epoch = opts.epoch ?? (() => 0);
    this.#onFenced = opts.onFenced ?? (() => {});
  }

  async insertNew(runs: HostRunDoc[]): Promise<void> {
    for (let i = 0; i < runs.length; i += 1000) {
      await this.#m.RunState.insertMany(
        runs.slice(i, i + 1000).map((r) => stateDoc(r, r.version)),
        { ordered: false },
      );
    }
  }

  /**
   * Stores `after` as the version following `before`. New history records are inserted
   * first (a repeat is harmless); the state insert is the commit point.
   */
  async commit(before: HostRunDoc, after: HostRunDoc): Promise<HostRunDoc> {
    const added = after.history.slice(before.history.length);
    for (const rec of added) {
      try {
        await this.#m.RunStep.create(stepDoc(after, rec));
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    const version = before.version + 1;
    if (this.#fenced) throw this.#fenced;
    await this.#knowSeq(after.planId);
    const batch = this.#join(after.planId);
    try {
      await this.#m.RunState.create({ ...stateDoc(after, version), epoch: batch.epoch, ticket: batch.seq });
    } catch (err) {
      this.#leave(batch, false);
      if (isDuplicateKey(err)) {
        throw new StaleWriteError(`run ${before._id}: version ${version} was written by someone else`, {
          details: { key: before._id, version },
        });
      }
      throw err;
    }
    this.#leave(batch, true);
    await batch.done;
    return { ...after, version };
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

  /** The open batch of a plan's writes (closed at the end of this turn of the event loop). */
  #join(planId: string): TicketBatch {
    let batch = this.#open.get(planId);
    if (!batch) {
      const seq = (this.#seqs.get(planId) ?? 0) + 1;
      this.#seqs.set(planId, seq);
      let settle!: (err?: unknown) => void;
      const done = new Promise<void>((resolve, reject) => {
        settle = (err) => (err === undefined ? resolve() : reject(err));
      });
      const b: TicketBatch = { planId, seq, epoch: this.#epoch(), closed: false, writing: 0, written: 0, done, settle };
      // Every waiter handles the outcome; this keeps an unawaited rejection from escaping.
      done.catch(() => undefined);
      this.#open.set(planId, b);
      setImmediate(() => {
        b.closed = true;
        if (this.#open.get(planId) === b) this.#open.delete(planId);
        this.#maybeCommit(b);
      });
      batch = b;
    }
    batch.writing++;
    return batch;
  }

  #leave(batch: TicketBatch, written: boolean): void {
    batch.writing--;
    if (written) batch.written++;
    this.#maybeCommit(batch);
  }

  #maybeCommit(b: TicketBatch): void {
    if (!b.closed || b.writing > 0) return;
    if (b.written === 0) {
      b.settle();
      return;
    }
    this.#m.RunTicket.create({
      _id: ticketId(b.planId, b.seq),
      planId: b.planId,
      seq: b.seq,
      epoch: b.epoch,
      fence: false,
      at: new Date(),
    }).then(
      () => b.settle(),
      (err: unknown) => {
        if (!isDuplicateKey(err)) {
          b.settle(err);
          return;
        }
        const fenced = new FencedError(`plan ${b.planId}: ticket ${b.seq} is taken: a later leader fenced epoch ${b.epoch}`, {
          cause: err,
          details: { planId: b.planId, seq: b.seq, epoch: b.epoch },
        });
        if (!this.#fenced) {
          this.#fenced = fenced;
          this.#onFenced(fenced);
        }
        b.settle(fenced);
      },
    );
  }

  /** The tickets and fences that decide which of these versions count. */
  async #committedBy(versions: (RunStateDoc | LightVersion)[], allOfPlan?: string): Promise<(v: VersionLike) => boolean> {
    const refs = ticketRefs(versions);
    if (refs.length === 0) return () => true;
    const planIds = [...new Set(versions.map((v) => v.planId))];
    const tickets = new Map<string, TicketDoc>();
    if (allOfPlan !== undefined) {
      for (const t of await this.#m.RunTicket.find({ planId: allOfPlan }).lean<TicketDoc[]>()) tickets.set(t._id, t);
    } else {
      for (let i = 0; i < refs.length; i += 1000)
        for (const t of await this.#m.RunTicket.find({ _id: { $in: refs.slice(i, i + 1000) } }).lean<TicketDoc[]>()) tickets.set(t._id, t);
    }
    const fences = new Map<string, TicketDoc[]>();
    const fenceDocs =
      allOfPlan !== undefined
        ? [...tickets.values()].filter((t) => t.fence)
        : await this.#m.RunTicket.find({ planId: { $in: planIds }, fence: true }).lean<TicketDoc[]>();
    for (const f of fenceDocs) fences.set(f.planId, [...(fences.get(f.planId) ?? []), f]);
    return (v) =>
      isCommitted(
        v,
        v.ticket === undefined || v.ticket === null ? undefined : tickets.get(ticketId(v.planId, v.ticket)),
        fences.get(v.planId) ?? [],
      );
  }

  /** The latest counted version of each run among `states`. */
  async #resolve<T extends RunStateDoc | LightVersion>(states: T[], allOfPlan?: string): Promise<Map<string, Resolved<T>>> {
    const committed = await this.#committedBy(states, allOfPlan);
    return latestCommitted(states, committed);
  }

  async #reduce(states: RunStateDoc[], steps: RunStepDoc[], allOfPlan?: string): Promise<HostRunDoc[]> {
    const resolved = await this.#resolve(states, allOfPlan);
    const history = new Map<string, RunStepDoc[]>();
    for (const st of steps) {
      const list = history.get(st.key) ?? [];
      list.push(st);
      history.set(st.key, list);
    }
    return [...resolved.values()].flatMap(({ doc: s, top }) => {
      if (!s) return [];
      // A record of the command the state still waits on is an orphan: written by a try
      // whose state version never counted (cut off before its ticket); it comes again.
      const waiting = s.state === 'active' && s.stepState ? s.commandId : undefined;
      const recs = (history.get(s.key) ?? [])
        .filter((h) => (h.runId === s.runId || s.previousRunIds.includes(h.runId)) && h._id !== waiting)
        .sort((a, b) => new Date(a.dispatchedAt).getTime() - new Date(b.dispatchedAt).getTime() || a._id.localeCompare(b._id))
        .map(toRecord);
      return [fromState(s, recs, top)];
    });
  }

  /** Every run of a plan, at its latest version, with its history. */
  async loadPlan(planId: string): Promise<HostRunDoc[]> {
    const [states, archived, steps] = await Promise.all([
      this.#m.RunState.find({ planId }).lean<RunStateDoc[]>(),
      this.#m.RunArchive.find({ planId }).lean<RunStateDoc[]>(),
      this.#m.RunStep.find({ planId }).lean<RunStepDoc[]>(),
    ]);
    return this.#reduce([...archived.map((a) => ({ ...a, key: a._id })), ...states], steps, planId);
  }

  /**
   * One page of a plan that is not live, in take order (`order`, then key), after `after`:
   * reads the page's archived runs, the state fields of runs not archived (a plan whose
   * compaction failed) and the step records of the page's runs only.
   */
  async pagePlan(
    planId: string,
    q: { after?: { order: number; key: string }; state?: RunState; phase?: number; limit: number },
  ): Promise<{ runs: HostRunDoc[]; more: boolean }> {
    const after = (idField: '_id' | 'key') =>
      q.after ? { $or: [{ order: { $gt: q.after.order } }, { order: q.after.order, [idField]: { $gt: q.after.key } }] } : {};
    const inPhase = q.phase === undefined ? {} : { phase: q.phase };
    const [archived, versions] = await Promise.all([
      this.#m.RunArchive.find({ planId, ...inPhase, ...(q.state ? { state: q.state } : {}), ...after('_id') })
        .sort({ order: 1, _id: 1 })
        .limit(q.limit + 1)
        .lean<RunStateDoc[]>(),
      this.#m.RunState.find(
        { planId, ...inPhase, ...after('key') },
        { key: 1, planId: 1, version: 1, order: 1, state: 1, epoch: 1, ticket: 1 },
      ).lean<LightVersion[]>(),
    ]);
    const latest = new Map<string, LightVersion>();
    for (const [key, r] of await this.#resolve(versions)) if (r.doc) latest.set(key, r.doc);
    // A run archived whose versions were not dropped yet is the archived one.
    if (latest.size > 0) {
      const done = await this.#m.RunArchive.find({ _id: { $in: [...latest.keys()] } }, { _id: 1 }).lean<{ _id: string }[]>();
      for (const d of done) latest.delete(d._id);
    }
    const candidates = [
      ...archived.map((a) => ({ key: a._id, order: a.order, doc: { ...a, key: a._id } as RunStateDoc | undefined, stateId: '' })),
      ...[...latest.values()]
        .filter((l) => !q.state || l.state === q.state)
        .map((l) => ({ key: l.key, order: l.order, doc: undefined, stateId: l._id })),
    ].sort((a, b) => a.order - b.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const page = candidates.slice(0, q.limit);
    const keys = page.map((c) => c.key);
    const stateIds = page.filter((c) => !c.doc).map((c) => c.stateId);
    const [states, steps] = await Promise.all([
      stateIds.length > 0 ? this.#m.RunState.find({ _id: { $in: stateIds } }).lean<RunStateDoc[]>() : [],
      keys.length > 0 ? this.#m.RunStep.find({ planId, key: { $in: keys } }).lean<RunStepDoc[]>() : [],
    ]);
    const runs = await this.#reduce([...page.flatMap((c) => (c.doc ? [c.doc] : [])), ...states], steps);
    return { runs: runs.sort((a, b) => a.order - b.order || (a._id < b._id ? -1 : 1)), more: candidates.length > q.limit };
  }

  async loadRun(key: string): Promise<HostRunDoc | undefined> {
    const planId = key.slice(0, key.indexOf('/'));
    const hostId = key.slice(key.indexOf('/') + 1);
    const [states, archived, steps] = await Promise.all([
      this.#m.RunState.find({ planId, hostId }).lean<RunStateDoc[]>(),
      this.#m.RunArchive.find({ _id: key }).lean<RunStateDoc[]>(),
      this.#m.RunStep.find({ key }).lean<RunStepDoc[]>(),
    ]);
    return (await this.#reduce([...archived.map((a) => ({ ...a, key: a._id })), ...states], steps))[0];
  }

  /** Runs of finished plans (compacted) for a host, with their history. */
  async loadArchivedOfHost(hostId: string): Promise<HostRunDoc[]> {
    const archived = await this.#m.RunArchive.find({ hostId }).lean<RunStateDoc[]>();
    if (archived.length === 0) return [];
    const steps = await this.#m.RunStep.find({ hostId }).lean<RunStepDoc[]>();
    return this.#reduce(
      archived.map((a) => ({ ...a, key: a._id })),
      steps,
    );
  }

  async loadHost(hostId: string): Promise<HostRunDoc[]> {
    const [states, archived, steps] = await Promise.all([
      this.#m.RunState.find({ hostId }).lean<RunStateDoc[]>(),
      this.#m.RunArchive.find({ hostId }).lean<RunStateDoc[]>(),
      this.#m.RunStep.find({ hostId }).lean<RunStepDoc[]>(),
    ]);
    return this.#reduce([...archived.map((a) => ({ ...a, key: a._id })), ...states], steps);
  }

  /**
   * After a plan ended: keep one final state per run and drop the versions. A run's
   * versions are dropped only once its final state is read back from the archive; a run
   * whose archive insert failed keeps them (and the plan is compacted again at start).
   */
  async compact(planId: string, finals: HostRunDoc[]): Promise<void> {
    let failure: unknown;
    let failed = 0;
    for (let i = 0; i < finals.length; i += 1000) {
      const docs = finals.slice(i, i + 1000).map((r) => ({ ...stateDoc(r, r.version), _id: r._id }));
      try {
        await this.#m.RunArchive.insertMany(docs, { ordered: false, throwOnValidationError: true });
      } catch (err) {
        // A compaction interrupted earlier already archived some: those inserts repeat.
        if (!onlyDuplicateKeys(err)) failure ??= err;
      }
      const keys = docs.map((d) => d._id);
      const archived = await this.#m.RunArchive.find({ _id: { $in: keys } }, { _id: 1 }).lean<{ _id: string }[]>();
      failed += keys.length - archived.length;
      if (archived.length > 0) await this.#m.RunState.deleteMany({ planId, key: { $in: archived.map((a) => a._id) } });
    }
    // The plan's tickets stay: a read that began before the versions were dropped still
    // needs them. Housekeeping drops them once the plan is long over.
    if (failure !== undefined || failed > 0) {
      throw new CompactionIncompleteError(
        `plan ${planId}: ${failed} of ${finals.length} final run states not archived; their versions are kept`,
        {
          cause: failure,
          details: { planId, failed },
        },
      );
    }
  }

  async deletePlan(planId: string): Promise<void> {
    await Promise.all([
      this.#m.RunState.deleteMany({ planId }),
      this.#m.RunArchive.deleteMany({ planId }),
      this.#m.RunStep.deleteMany({ planId }),
      this.#m.RunTicket.deleteMany({ planId }),
    ]);
  }
}
