// Reads hosts' assessments (precheck step records, run_steps) for the pool report in one
// pass per question, without holding the pool's reports: each record is handed on as it
// is read, the report builder keeps a compact line per host (the latest precheck wins),
// and the report string is dropped. One pass because on FerretDB v1 every query but a
// lookup by _id scans its collection: reading the latest record ids first and then the
// records by `_id: {$in}` a batch at a time scanned it once per batch (10,000 hosts:
// 300 s; one pass: 8 s, 6.5 s of it the scan itself). A report carries the whole package
// preview (up to 64,000 characters stored): 300,000 of them do not fit in memory.
import type { Models, RunState, RunStateDoc, RunStepDoc } from '../db/models.ts';
import { type HostAssessment, PRECHECK_INHIBITED, type PrecheckRecord } from './pool-report.ts';

/** Records read from the database at once (each up to 64 KB). */
const BATCH = 100;

/** What the report needs of a run. */
export interface RunLight {
  hostId: string;
  state: RunState;
  exclusionReason?: string;
  failure?: { step: string; code: string; message: string } | null;
  /** An assess-mode run left out because the host's facts had not changed: the plan whose assessment it keeps. */
  reusesAssessmentOf?: string;
}

/** A precheck that produced an assessment: it passed, or it found inhibitors. */
const assessed = (doc: RunStepDoc): boolean => doc.outcome === 'succeeded' || (doc.outcome === 'failed' && doc.code === PRECHECK_INHIBITED);

function toPrecheck(doc: RunStepDoc): PrecheckRecord {
  return {
    planId: doc.planId,
    outcome: doc.outcome,
    code: doc.code ?? '',
    message: doc.message ?? '',
    report: doc.report ?? '',
    finishedAt: doc.finishedAt ?? null,
    attempt: doc.attempt ?? 0,
  };
}

/** Takes a host's assessment; the report builder's add. */
export type AssessmentSink = (a: HostAssessment) => unknown;

export class AssessmentStore {
  readonly #m: Models;

  constructor(models: Models) {
    this.#m = models;
  }

  /** The finished precheck records matching `filter`, one batch in memory at a time. */
  async *#prechecks(filter: Record<string, unknown>): AsyncGenerator<RunStepDoc> {
    const cursor = this.#m.RunStep.find({ step: 'precheck', ...filter })
      .lean<RunStepDoc[]>()
      .cursor({ batchSize: BATCH });
    for await (const doc of cursor as AsyncIterable<RunStepDoc>) if (doc.outcome !== 'deferred') yield doc;
  }

  /**
   * The runs of a stored (not live) plan, state only: an archived run's final state, else
   * the latest version of a run not archived (a plan whose compaction did not finish).
   */
  async planRuns(planId: string): Promise<RunLight[]> {
    const fields = { _id: 1, key: 1, hostId: 1, state: 1, exclusionReason: 1, failure: 1, reusesAssessmentOf: 1, version: 1 };
    type Doc = Pick<RunStateDoc, '_id' | 'key' | 'hostId' | 'state' | 'exclusionReason' | 'failure' | 'version'> & {
      reusesAssessmentOf?: string;
    };
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
      ...(r.reusesAssessmentOf ? { reusesAssessmentOf: r.reusesAssessmentOf } : {}),
    }));
  }

  /**
   * Every host of a plan, with its prechecks in the plan (`add` keeps the latest). A run
   * that reuses an earlier assessment (`reusesAssessmentOf`: its facts had not changed)
   * gets its latest precheck that assessed in that plan, as `reused`. `hasPrecheck` tells
   * which hosts got one.
   */
  async planAssessments(planId: string, runs: RunLight[], add: AssessmentSink, hasPrecheck: (hostId: string) => boolean): Promise<void> {
    const runOf = new Map(runs.map((r) => [r.hostId, r]));
    for await (const doc of this.#prechecks({ planId })) {
      add({ hostId: doc.hostId, run: light(runOf.get(doc.hostId)), precheck: toPrecheck(doc), source: 'plan' });
    }
    const reusing = new Map<string, string>();
    for (const r of runs) if (r.reusesAssessmentOf && !hasPrecheck(r.hostId)) reusing.set(r.hostId, r.reusesAssessmentOf);
    if (reusing.size > 0) {
      for await (const doc of this.#prechecks({ planId: { $in: [...new Set(reusing.values())] } })) {
        if (reusing.get(doc.hostId) !== doc.planId || !assessed(doc)) continue;
        add({ hostId: doc.hostId, run: light(runOf.get(doc.hostId)), precheck: toPrecheck(doc), source: 'reused' });
      }
    }
    // A host with a precheck keeps it: these only fill in the hosts without one.
    for (const r of runs) add({ hostId: r.hostId, run: light(r), precheck: null, source: 'plan' });
  }

  /** Each host of `hostIds` with its prechecks in any plan (`add` keeps the latest); a host never assessed has none. */
  async fleetAssessments(hostIds: string[], add: AssessmentSink): Promise<void> {
    const wanted = new Set(hostIds);
    for await (const doc of this.#prechecks({})) {
      if (wanted.has(doc.hostId)) add({ hostId: doc.hostId, run: null, precheck: toPrecheck(doc), source: 'plan' });
    }
    for (const hostId of hostIds) add({ hostId, run: null, precheck: null, source: 'plan' });
  }
}

const light = (r: RunLight | undefined): HostAssessment['run'] =>
  r ? { state: r.state, ...(r.exclusionReason ? { exclusionReason: r.exclusionReason } : {}), failure: r.failure ?? null } : null;
