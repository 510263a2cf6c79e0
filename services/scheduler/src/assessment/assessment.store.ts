// Reads hosts' assessments (precheck step records, run_steps) for the pool report without
// holding a pool's reports at once: a first pass reads the records without their reports
// and keeps the latest per host; the chosen records are then read a batch at a time, each
// report read into the report builder and dropped. A report carries the whole package
// preview (hundreds of KiB on a full host): 300,000 of them do not fit in memory.
import type { Models, RunState, RunStateDoc, RunStepDoc } from '../db/models.ts';
import { type HostAssessment, PRECHECK_INHIBITED, type PrecheckRecord } from './pool-report.ts';

/** Records whose reports are read at once. */
const REPORT_BATCH = 200;
/** Hosts asked about in one query (an `$in` list). */
const HOST_BATCH = 1000;

/** What the report needs of a run. */
export interface RunLight {
  hostId: string;
  state: RunState;
  exclusionReason?: string;
  failure?: { step: string; code: string; message: string } | null;
}

type StepLight = Pick<RunStepDoc, '_id' | 'hostId' | 'planId' | 'attempt' | 'dispatchedAt' | 'finishedAt'>;
const LIGHT = { _id: 1, hostId: 1, planId: 1, attempt: 1, dispatchedAt: 1, finishedAt: 1 } as const;

const time = (d: Date | null | undefined): number => (d ? new Date(d).getTime() : 0);

/** Whether `a` is a later record than `b`: finished later, else a later attempt, else dispatched later. */
function later(a: StepLight, b: StepLight): boolean {
  const fa = time(a.finishedAt);
  const fb = time(b.finishedAt);
  if (fa !== fb) return fa > fb;
  if ((a.attempt ?? 0) !== (b.attempt ?? 0)) return (a.attempt ?? 0) > (b.attempt ?? 0);
  const da = time(a.dispatchedAt);
  const db = time(b.dispatchedAt);
  return da !== db ? da > db : a._id > b._id;
}

/** A precheck that produced an assessment: it passed, or it found inhibitors. */
const ASSESSED = { $or: [{ outcome: 'succeeded' }, { outcome: 'failed', code: PRECHECK_INHIBITED }] };

function toPrecheck(doc: RunStepDoc): PrecheckRecord {
  return {
    planId: doc.planId,
    outcome: doc.outcome,
    code: doc.code ?? '',
    message: doc.message ?? '',
    report: doc.report ?? '',
    finishedAt: doc.finishedAt ?? null,
  };
}

export class AssessmentStore {
  readonly #m: Models;

  constructor(models: Models) {
    this.#m = models;
  }

  /** The latest precheck record per host matching `filter`, without reports. */
  async #latest(filter: Record<string, unknown>, into = new Map<string, StepLight>()): Promise<Map<string, StepLight>> {
    const cursor = this.#m.RunStep.find({ step: 'precheck', outcome: { $ne: 'deferred' }, ...filter }, LIGHT)
      .lean<StepLight[]>()
      .cursor({ batchSize: 1000 });
    for await (const rec of cursor as AsyncIterable<StepLight>) {
      const cur = into.get(rec.hostId);
      if (!cur || later(rec, cur)) into.set(rec.hostId, rec);
    }
    return into;
  }

  /** The full records of `ids`, a batch at a time. */
  async *#records(ids: string[]): AsyncGenerator<RunStepDoc> {
    for (let i = 0; i < ids.length; i += REPORT_BATCH) {
      const docs = await this.#m.RunStep.find({ _id: { $in: ids.slice(i, i + REPORT_BATCH) } }).lean<RunStepDoc[]>();
      yield* docs;
    }
  }

  /**
   * Each host's latest assessment in any plan, for hosts of `hostIds` (its reused one when
   * `except` names the plan that reused it: that plan's own records are left out).
   */
  async #latestAssessments(hostIds: string[], except?: string): Promise<Map<string, StepLight>> {
    const found = new Map<string, StepLight>();
    for (let i = 0; i < hostIds.length; i += HOST_BATCH) {
      await this.#latest(
        { hostId: { $in: hostIds.slice(i, i + HOST_BATCH) }, ...(except ? { planId: { $ne: except }, ...ASSESSED } : {}) },
        found,
      );
    }
    return found;
  }

  /**
   * The runs of a stored (not live) plan, state only: an archived run's final state, else
   * the latest version of a run not archived (a plan whose compaction did not finish).
   */
  async planRuns(planId: string): Promise<RunLight[]> {
    const fields = { _id: 1, key: 1, hostId: 1, state: 1, exclusionReason: 1, failure: 1, version: 1 };
    type Doc = Pick<RunStateDoc, '_id' | 'key' | 'hostId' | 'state' | 'exclusionReason' | 'failure' | 'version'>;
    const runs = new Map<string, Doc>();
    for await (const a of this.#m.RunArchive.find({ planId }, fields).lean<Doc[]>().cursor({ batchSize: 1000 }) as AsyncIterable<Doc>) {
      runs.set(a._id, a);
    }
    const versions = new Map<string, Doc>();
    for await (const v of this.#m.RunState.find({ planId }, fields).lean<Doc[]>().cursor({ batchSize: 1000 }) as AsyncIterable<Doc>) {
      if (runs.has(v.key)) continue;
      const cur = versions.get(v.key);
      if (!cur || v.version > cur.version) versions.set(v.key, v);
    }
    return [...runs.values(), ...versions.values()].map((r) => ({
      hostId: r.hostId,
      state: r.state,
      exclusionReason: r.exclusionReason ?? '',
      failure: r.failure ? { step: r.failure.step, code: r.failure.code, message: r.failure.message } : null,
    }));
  }

  /**
   * Every host of a plan, with its latest precheck in the plan. A run that succeeded with
   * no precheck of its own reused an earlier assessment (the host's facts had not changed):
   * that one, the host's latest in another plan, is given as `reused`.
   */
  async *planAssessments(planId: string, runs: RunLight[]): AsyncGenerator<HostAssessment> {
    const own = await this.#latest({ planId });
    const reusing = runs.filter((r) => r.state === 'succeeded' && !own.has(r.hostId)).map((r) => r.hostId);
    const reused = await this.#latestAssessments(reusing, planId);
    const runOf = new Map(runs.map((r) => [r.hostId, r]));
    const ids = [...own.values(), ...reused.values()].map((r) => r._id);
    const seen = new Set<string>();
    for await (const doc of this.#records(ids)) {
      const source = doc.planId === planId ? 'plan' : 'reused';
      seen.add(doc.hostId);
      yield { hostId: doc.hostId, run: light(runOf.get(doc.hostId)), precheck: toPrecheck(doc), source };
    }
    for (const r of runs) if (!seen.has(r.hostId)) yield { hostId: r.hostId, run: light(r), precheck: null, source: 'plan' };
  }

  /** Each host's latest precheck in any plan; a host never assessed has none. */
  async *fleetAssessments(hostIds: string[]): AsyncGenerator<HostAssessment> {
    const latest = await this.#latestAssessments(hostIds);
    for await (const doc of this.#records([...latest.values()].map((r) => r._id))) {
      yield { hostId: doc.hostId, run: null, precheck: toPrecheck(doc), source: 'plan' };
    }
    for (const hostId of hostIds) if (!latest.has(hostId)) yield { hostId, run: null, precheck: null, source: 'plan' };
  }
}

const light = (r: RunLight | undefined): HostAssessment['run'] =>
  r ? { state: r.state, ...(r.exclusionReason ? { exclusionReason: r.exclusionReason } : {}), failure: r.failure ?? null } : null;
