// A finished plan's runs, stored a page at a time with an index of the pages, so that its
// host list pages in bounded time on any store. FerretDB v1 (SQLite) pushes only an
// `_id` equality down to SQL: any other filter reads and decodes the whole collection, and
// a page of 250 runs of a 10,000-host plan (archived runs, versions, step records) took
// over 120 s right after the plan ended. Read through its index, a page is a few reads by
// `_id` whatever the plan's size. Written once, when the plan is compacted; the index is
// inserted last and is the commit point: pages without one are never read.
import type { HostRunDoc, RunState } from './models.ts';

/** At most this many runs to a page document. */
export const RUN_PAGE_MAX_RUNS = 200;
/**
 * At most about this many bytes (as JSON) to a page document, far below the 16 MiB of a
 * document: a step's report can be up to 1 MiB (the assessment's).
 */
export const RUN_PAGE_MAX_BYTES = 4 * 1024 * 1024;

/** A run's place in take order. */
export interface RunPos {
  order: number;
  key: string;
}

/** What the index knows of one page: its bounds and its runs by `${phase}:${state}`. */
export interface RunPageEntry {
  seq: number;
  first: RunPos;
  last: RunPos;
  counts: Record<string, number>;
}

export interface RunPageIndexDoc {
  /** runPageIndexId(planId) */
  _id: string;
  planId: string;
  /** The writing compaction's own id: pages of an earlier, interrupted one are never read. */
  gen: string;
  runs: number;
  pages: RunPageEntry[];
  at: Date;
}

export interface RunPageDoc {
  /** runPageId(planId, gen, seq) */
  _id: string;
  planId: string;
  gen: string;
  seq: number;
  runs: HostRunDoc[];
}

export interface RunPageQuery {
  after?: RunPos;
  state?: RunState;
  phase?: number;
  limit: number;
}

export const runPageIndexId = (planId: string): string => `${planId}#pages`;
export const runPageId = (planId: string, gen: string, seq: number): string => `${planId}#${gen}#${seq}`;

export function compareRunPos(a: RunPos, b: RunPos): number {
  return a.order - b.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

const posOf = (r: HostRunDoc): RunPos => ({ order: r.order, key: r._id });
const countKey = (phase: number, state: string): string => `${phase}:${state}`;

/**
 * A plan's final runs cut into pages in take order (order, then key), each page at most
 * RUN_PAGE_MAX_RUNS runs and about `maxBytes` (at least one run), with their index.
 */
export function paginateRuns(
  planId: string,
  gen: string,
  finals: readonly HostRunDoc[],
  opts: { maxRuns?: number; maxBytes?: number; at?: Date } = {},
): { pages: RunPageDoc[]; index: RunPageIndexDoc } {
  const maxRuns = opts.maxRuns ?? RUN_PAGE_MAX_RUNS;
  const maxBytes = opts.maxBytes ?? RUN_PAGE_MAX_BYTES;
  const sorted = [...finals].sort((a, b) => compareRunPos(posOf(a), posOf(b)));
  const pages: RunPageDoc[] = [];
  const entries: RunPageEntry[] = [];
  let runs: HostRunDoc[] = [];
  let bytes = 0;
  const close = (): void => {
    if (runs.length === 0) return;
    const seq = pages.length;
    const counts: Record<string, number> = {};
    for (const r of runs) counts[countKey(r.phase, r.state)] = (counts[countKey(r.phase, r.state)] ?? 0) + 1;
    pages.push({ _id: runPageId(planId, gen, seq), planId, gen, seq, runs });
    entries.push({ seq, first: posOf(runs[0] as HostRunDoc), last: posOf(runs.at(-1) as HostRunDoc), counts });
    runs = [];
    bytes = 0;
  };
  for (const r of sorted) {
    const size = JSON.stringify(r).length;
    if (runs.length > 0 && (runs.length >= maxRuns || bytes + size > maxBytes)) close();
    runs.push(r);
    bytes += size;
  }
  close();
  return {
    pages,
    index: { _id: runPageIndexId(planId), planId, gen, runs: sorted.length, pages: entries, at: opts.at ?? new Date() },
  };
}

/** How many of a page's runs a query's phase and state select (the cursor aside). */
export function countMatching(entry: RunPageEntry, q: Pick<RunPageQuery, 'phase' | 'state'>): number {
  let n = 0;
  for (const [key, count] of Object.entries(entry.counts)) {
    const sep = key.indexOf(':');
    if (q.phase !== undefined && Number(key.slice(0, sep)) !== q.phase) continue;
    if (q.state !== undefined && key.slice(sep + 1) !== q.state) continue;
    n += count;
  }
  return n;
}

/**
 * The pages to read, in order, for a query: those ending after its cursor that hold a run
 * it selects. A reader stops once it has one run more than the limit.
 */
export function pagesToRead(index: Pick<RunPageIndexDoc, 'pages'>, q: RunPageQuery): number[] {
  const after = q.after;
  return index.pages.filter((p) => (!after || compareRunPos(p.last, after) > 0) && countMatching(p, q) > 0).map((p) => p.seq);
}

/** Whether a run is on a query's list: after its cursor, in its phase and state. */
export function selectsRun(q: RunPageQuery, r: HostRunDoc): boolean {
  // Compared in place: the live list asks this of every run before its cursor.
  const after = q.after;
  if (after && (r.order < after.order || (r.order === after.order && r._id <= after.key))) return false;
  if (q.phase !== undefined && r.phase !== q.phase) return false;
  return !q.state || r.state === q.state;
}

/**
 * One page of a finished plan's list, read through its index: the pages that may hold it,
 * one at a time, until one run more than the limit is found. Undefined if a page the
 * index names is missing.
 */
export async function readRunPages(
  index: RunPageIndexDoc,
  q: RunPageQuery,
  pageById: (id: string) => Promise<RunPageDoc | null | undefined>,
): Promise<{ runs: HostRunDoc[]; more: boolean } | undefined> {
  const runs: HostRunDoc[] = [];
  for (const seq of pagesToRead(index, q)) {
    const page = await pageById(runPageId(index.planId, index.gen, seq));
    if (!page) return undefined;
    for (const r of page.runs) {
      if (!selectsRun(q, r)) continue;
      if (runs.length === q.limit) return { runs, more: true };
      runs.push(r);
    }
  }
  return { runs, more: false };
}
