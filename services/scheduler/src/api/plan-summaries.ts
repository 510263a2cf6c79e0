// GET /v1/plans: one page of plan summaries. A summary is the plan document and its run
// counts: a live plan's from the engine's memory, a finished one's counted by the
// database (grouped by state), so a page never loads a run's document or a step record.
import { decodeCursor, NEWEST_FIRST, newestFirstAfter, pageOf } from '@yixing/common/http';
import type { Models, RunState } from '../db/models.ts';
import type { Engine } from '../reconcile/engine.ts';
import { emptyCounters, type PlanCounters } from '../reconcile/plan-runtime.ts';
import { type PlanHeaderDoc, planHeader } from './views.ts';

const COUNT_FIELDS = ['total', 'pending', 'active', 'held', 'succeeded', 'failed', 'excluded', 'inFlight', 'failures'] as const;

/** A plan's run counts: by state, in flight (active or held), and failures against the budget. */
export type PlanCounts = Pick<PlanCounters, (typeof COUNT_FIELDS)[number]>;

/**
 * What the list shows of a plan: the plan view without its spec, phases and detailed
 * counters; how many phases it has (the canary and the waves), for "wave N of M".
 */
export type PlanSummary = ReturnType<typeof planHeader> & { counters: PlanCounts; phaseCount: number };

/** The plan fields a summary reads. */
type SummaryDoc = PlanHeaderDoc & { phases?: readonly unknown[] };

const SUMMARY_FIELDS = {
  name: 1,
  state: 1,
  stateReason: 1,
  createdAt: 1,
  createdBy: 1,
  finishedAt: 1,
  hostCount: 1,
  openPhase: 1,
  gate: 1,
  budget: 1,
  'spec.profile': 1,
  phases: 1,
} as const;

const pickCounts = (c: PlanCounters): PlanCounts => Object.fromEntries(COUNT_FIELDS.map((k) => [k, c[k]])) as PlanCounts;

export const emptyCounts = (total: number): PlanCounts => pickCounts(emptyCounters(total));

export function planSummary(plan: SummaryDoc, c: PlanCounts): PlanSummary {
  return { ...planHeader(plan, c), counters: c, phaseCount: plan.phases?.length ?? 0 };
}

/** Counts from rows of (state, runs in that state) and the number of runs that failed. */
export function countsOf(total: number, byState: { state: string; n: number }[], failures: number): PlanCounts {
  const c = emptyCounts(total);
  for (const { state, n } of byState) if (state in c && state !== 'total') c[state as RunState] += n;
  c.inFlight = c.active + c.held;
  c.failures = failures;
  return c;
}

/** A plan's runs already compacted into host_runs: their counts by state, failures and keys. */
export interface ArchivedRuns {
  byState: { state: string; n: number }[];
  failures: number;
  keys: ReadonlySet<string>;
}

const NONE_ARCHIVED: ArchivedRuns = { byState: [], failures: 0, keys: new Set() };

/**
 * Counts of a plan not (fully) compacted: its archived runs, plus the latest version of
 * each run not archived. A run archived whose versions were not dropped yet counts once.
 */
export function countsOfLatest(
  total: number,
  versions: { key: string; version: number; state: string; failure: unknown }[],
  archived: ArchivedRuns = NONE_ARCHIVED,
): PlanCounts {
  const latest = new Map<string, (typeof versions)[number]>();
  for (const v of versions) {
    if (archived.keys.has(v.key)) continue;
    const cur = latest.get(v.key);
    if (!cur || v.version > cur.version) latest.set(v.key, v);
  }
  const byState = new Map<string, number>();
  for (const { state, n } of archived.byState) byState.set(state, (byState.get(state) ?? 0) + n);
  let failures = archived.failures;
  for (const r of latest.values()) {
    byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
    if (r.failure && r.state !== 'pending') failures++;
  }
  return countsOf(
    total,
    [...byState].map(([state, n]) => ({ state, n })),
    failures,
  );
}

interface Group {
  _id: { planId: string; state: string } | string;
  n: number;
}

/** Stored counts of plans that are not live, with a database query per page, not per plan. */
async function storedCounts(models: Models, plans: PlanHeaderDoc[]): Promise<Map<string, PlanCounts>> {
  const out = new Map<string, PlanCounts>();
  if (plans.length === 0) return out;
  const ids = plans.map((p) => p._id);
  const [byState, failed] = await Promise.all([
    models.RunArchive.aggregate<Group>([
      { $match: { planId: { $in: ids } } },
      { $group: { _id: { planId: '$planId', state: '$state' }, n: { $sum: 1 } } },
    ]),
    models.RunArchive.aggregate<Group>([
      { $match: { planId: { $in: ids }, failure: { $ne: null }, state: { $ne: 'pending' } } },
      { $group: { _id: '$planId', n: { $sum: 1 } } },
    ]),
  ]);
  const rows = new Map<string, { state: string; n: number }[]>();
  for (const g of byState) {
    const key = g._id as { planId: string; state: string };
    const list = rows.get(key.planId) ?? [];
    list.push({ state: key.state, n: g.n });
    rows.set(key.planId, list);
  }
  const failures = new Map(failed.map((g) => [g._id as string, g.n]));
  for (const p of plans) {
    const byStateOfPlan = rows.get(p._id) ?? [];
    const c = countsOf(p.hostCount, byStateOfPlan, failures.get(p._id) ?? 0);
    const archived = c.pending + c.active + c.held + c.succeeded + c.failed + c.excluded;
    if (archived === p.hostCount) out.set(p._id, c);
    else {
      // Not (or partly) compacted: the runs not archived are in run_states; read states, not steps.
      const [versions, keys] = await Promise.all([
        models.RunState.find({ planId: p._id }, { key: 1, version: 1, state: 1, failure: 1 }).lean<
          { key: string; version: number; state: string; failure: unknown }[]
        >(),
        archived === 0 ? [] : models.RunArchive.find({ planId: p._id }, { _id: 1 }).lean<{ _id: string }[]>(),
      ]);
      out.set(
        p._id,
        countsOfLatest(p.hostCount, versions, {
          byState: byStateOfPlan,
          failures: failures.get(p._id) ?? 0,
          keys: new Set(keys.map((k) => k._id)),
        }),
      );
    }
  }
  return out;
}

export interface PlanPageQuery {
  state?: string;
  limit: number;
  cursor?: string;
}

export async function listPlanSummaries(
  deps: { models: Models; engine: Pick<Engine, 'runtime'> },
  q: PlanPageQuery,
): Promise<{ items: PlanSummary[]; nextCursor: string | null }> {
  const filter: Record<string, unknown> = {
    ...(q.state ? { state: q.state } : {}),
    ...(q.cursor ? newestFirstAfter(decodeCursor(q.cursor)) : {}),
  };
  const found = await deps.models.Plan.find(filter, SUMMARY_FIELDS)
    .sort({ ...NEWEST_FIRST })
    .limit(q.limit + 1)
    .lean<SummaryDoc[]>();
  const { docs, nextCursor } = pageOf(found, q.limit);
  // Which plans are live is decided once: one that ends meanwhile is still summarized.
  const runtimes = docs.map((d) => deps.engine.runtime(d._id));
  const stored = await storedCounts(
    deps.models,
    docs.filter((_d, i) => !runtimes[i]),
  );
  const items = docs.map((d, i) => {
    const rt = runtimes[i];
    if (!rt) return planSummary(d, stored.get(d._id) ?? emptyCounts(d.hostCount));
    // The live document is at least as new as the one read.
    return planSummary(rt.plan, pickCounts(rt.counters));
  });
  return { items, nextCursor };
}
