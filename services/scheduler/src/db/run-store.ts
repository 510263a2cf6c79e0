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
// first (run-versions.ts decides what counts). Writes go in groups that share one ticket
// (run-committer.ts); this file reads.
import { randomUUID } from 'node:crypto';
import { onlyDuplicates, YxError } from '@yixing/common';
import type { HostRunDoc, Models, RunState, RunStateDoc, RunStepDoc, StepRecord } from './models.ts';
import { RunCommitter, type RunCommitterOptions } from './run-committer.ts';
import { paginateRuns, type RunPageDoc, type RunPageIndexDoc, type RunPageQuery, readRunPages, runPageIndexId } from './run-pages.ts';
import { isCommitted, latestCommitted, type Resolved, type TicketDoc, ticketId, ticketRefs } from './run-versions.ts';
import { versionDeleteGroups } from './version-deletes.ts';

/** Some final run states could not be archived; compacting again (at start) may finish it. */
export class CompactionIncompleteError extends YxError {
  readonly code = 'RUN_ARCHIVE_INCOMPLETE';
  readonly retryable = true;
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
export type RunStoreOptions = RunCommitterOptions;

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
  readonly #committer: RunCommitter;

  constructor(models: Models, opts: RunStoreOptions = {}) {
    this.#m = models;
    this.#committer = new RunCommitter(models, opts);
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
    const version = before.version + 1;
    const steps = after.history.slice(before.history.length).map((rec) => stepDoc(after, rec));
    await this.#committer.commit(after.planId, steps, stateDoc(after, version));
    return { ...after, version };
  }

  /**
   * A leader taking over: fences every live plan's ticket sequence (run-committer.ts). Call
   * before reading the plans' runs.
   */
  fencePlans(planIds: readonly string[]): Promise<void> {
    return this.#committer.fencePlans(planIds);
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

  /**
   * Every run of a plan, at its latest version, with its history; `history: false` leaves
   * the step records out (a view that counts runs: six records a host are most of a
   * finished plan's documents).
   */
  async loadPlan(planId: string, opts: { history?: boolean } = {}): Promise<HostRunDoc[]> {
    const [states, archived, steps] = await Promise.all([
      this.#m.RunState.find({ planId }).lean<RunStateDoc[]>(),
      this.#m.RunArchive.find({ planId }).lean<RunStateDoc[]>(),
      opts.history === false ? [] : this.#m.RunStep.find({ planId }).lean<RunStepDoc[]>(),
    ]);
    return this.#reduce([...archived.map((a) => ({ ...a, key: a._id })), ...states], steps, planId);
  }

  /**
   * One page of a plan that is not live, in take order (`order`, then key), after `after`:
   * reads the page's archived runs, the state fields of runs not archived (a plan whose
   * compaction failed) and the step records of the page's runs only.
   */
  async pagePlan(planId: string, q: RunPageQuery): Promise<{ runs: HostRunDoc[]; more: boolean }> {
    const index = await this.#m.RunPageIndex.findById(runPageIndexId(planId)).lean<RunPageIndexDoc>();
    const paged = index && (await readRunPages(index, q, (id) => this.#m.RunPage.findById(id).lean<RunPageDoc>()));
    // A page the index names is missing (deleted by hand): the runs themselves answer.
    return paged ?? this.#pageFromRuns(planId, q);
  }

  async #pageFromRuns(planId: string, q: RunPageQuery): Promise<{ runs: HostRunDoc[]; more: boolean }> {
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
   * versions are dropped only once its final state is archived (inserted, or there
   * already); a run whose archive insert failed keeps them (and the plan is compacted
   * again at start). The archive is read back only when an insert failed otherwise than
   * as a duplicate: on FerretDB v1 (SQLite) that read decodes the whole collection.
   * `signal` stops it between batches (CompactionIncompleteError; compacted again at start).
   */
  async compact(planId: string, finals: HostRunDoc[], signal?: AbortSignal): Promise<void> {
    const stopped = (): CompactionIncompleteError =>
      new CompactionIncompleteError(`plan ${planId}: compaction stopped; its versions are kept`, { details: { planId, failed: 0 } });
    await this.#writePages(planId, finals);
    let failure: unknown;
    const archived: HostRunDoc[] = [];
    for (let i = 0; i < finals.length; i += 1000) {
      if (signal?.aborted) throw stopped();
      const batch = finals.slice(i, i + 1000);
      const docs = batch.map((r) => ({ ...stateDoc(r, r.version), _id: r._id }));
      try {
        await this.#m.RunArchive.insertMany(docs, { ordered: false, throwOnValidationError: true });
        archived.push(...batch);
      } catch (err) {
        // A compaction interrupted earlier already archived some: those inserts repeat.
        if (onlyDuplicates(err)) archived.push(...batch);
        else {
          failure ??= err;
          const found = await this.#m.RunArchive.find({ _id: { $in: docs.map((d) => d._id) } }, { _id: 1 }).lean<{ _id: string }[]>();
          const done = new Set(found.map((a) => a._id));
          archived.push(...batch.filter((r) => done.has(r._id)));
        }
      }
    }
    // Versions go once their runs are archived, in as few deletes as FerretDB allows.
    for (const keys of versionDeleteGroups(archived)) {
      if (signal?.aborted) throw stopped();
      await this.#m.RunState.deleteMany({ planId, key: { $in: keys } });
    }
    // The plan's tickets stay: a read that began before the versions were dropped still
    // needs them. Housekeeping drops them once the plan is long over.
    const failed = finals.length - archived.length;
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

  /**
   * The plan's run pages and their index (run-pages.ts), unless an earlier compaction wrote
   * them: its index is the commit point, so the pages of one interrupted before it are
   * never read (deletePlan removes them with the plan).
   */
  async #writePages(planId: string, finals: HostRunDoc[]): Promise<void> {
    if (await this.#m.RunPageIndex.exists({ _id: runPageIndexId(planId) })) return;
    const { pages, index } = paginateRuns(planId, randomUUID().slice(0, 8), finals);
    // A few pages to an insert: each is up to 4 MiB.
    for (let i = 0; i < pages.length; i += 4) await this.#m.RunPage.insertMany(pages.slice(i, i + 4), { lean: true });
    try {
      await this.#m.RunPageIndex.create(index);
    } catch (err) {
      // Another compaction of the plan committed its pages first: these are never read.
      if (!onlyDuplicates(err)) throw err;
      for (const p of pages) await this.#m.RunPage.deleteOne({ _id: p._id });
    }
  }

  async deletePlan(planId: string): Promise<void> {
    await Promise.all([
      this.#m.RunPage.deleteMany({ planId }),
      this.#m.RunPageIndex.deleteOne({ _id: runPageIndexId(planId) }),
      this.#m.RunState.deleteMany({ planId }),
      this.#m.RunArchive.deleteMany({ planId }),
      this.#m.RunStep.deleteMany({ planId }),
      this.#m.RunTicket.deleteMany({ planId }),
    ]);
  }
}
