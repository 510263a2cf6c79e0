// The drill-down's list of one phase's hosts in one state, pure: the server's pages merged
// as they arrive (GET /v1/plans/:id/hosts?phase=&state=&cursor=&limit=), each host kept as
// the few fields a row shows (never a run's history: 100,000 rows must stay small), a page
// answered for another filter or cursor ignored, when to ask for the next page, and a
// host's live change applied to its row.

import type { RunView } from '@yixing/scheduler';
import type { RunState } from './phase-flow.ts';

export const PAGE_LIMIT = 200;
/** Ask for the next page when the last row shown is this close to the end of what is loaded. */
export const PREFETCH_ROWS = 50;

export interface HostFilter {
  phase: number;
  /** null: every state. */
  state: RunState | null;
}

export interface HostRow {
  hostId: string;
  state: RunState;
  step: RunView['step'];
  cluster: string;
  /** The failure's code, '' when none. */
  failureCode: string;
}

export interface HostList {
  filter: HostFilter;
  rows: HostRow[];
  /** The cursor of the next page; null when every page is loaded. */
  nextCursor: string | null;
  /** Whether the first page has arrived. */
  started: boolean;
  /** The cursor a request is out for ('' for the first page), or null when none is. */
  loading: string | null;
}

export const sameFilter = (a: HostFilter, b: HostFilter): boolean => a.phase === b.phase && a.state === b.state;

export const emptyList = (filter: HostFilter): HostList => ({ filter, rows: [], nextCursor: null, started: false, loading: null });

/** The URL of a page (cursor '' for the first). */
export function hostsPageUrl(base: string, planId: string, filter: HostFilter, cursor: string, limit = PAGE_LIMIT): string {
  const q = new URLSearchParams({ phase: String(filter.phase) });
  if (filter.state) q.set('state', filter.state);
  if (cursor) q.set('cursor', cursor);
  q.set('limit', String(limit));
  return `${base}/v1/plans/${encodeURIComponent(planId)}/hosts?${q.toString()}`;
}

export const rowOf = (r: Pick<RunView, 'hostId' | 'state' | 'step' | 'cluster' | 'failure'>): HostRow => ({
  hostId: r.hostId,
  state: r.state,
  step: r.step,
  cluster: r.cluster,
  failureCode: r.failure?.code ?? '',
});

/** The list asking for the page after `cursor` ('' for the first). */
export const requesting = (list: HostList, cursor: string): HostList => ({ ...list, loading: cursor });

/**
 * The list with a page added: only the answer to the request out for this filter and
 * cursor counts (a late answer to an earlier filter or a repeated cursor changes nothing);
 * a host already listed is not listed twice.
 */
export function mergePage(
  list: HostList,
  filter: HostFilter,
  cursor: string,
  page: { hosts: readonly Parameters<typeof rowOf>[0][]; nextCursor: string | null },
): HostList {
  if (!sameFilter(list.filter, filter) || list.loading !== cursor) return list;
  const seen = new Set(list.rows.map((r) => r.hostId));
  const added = page.hosts.filter((h) => !seen.has(h.hostId)).map(rowOf);
  return { ...list, rows: [...list.rows, ...added], nextCursor: page.nextCursor, started: true, loading: null };
}

/** The list after a failed request: nothing out, so the next look asks again. */
export const failedPage = (list: HostList, filter: HostFilter, cursor: string): HostList =>
  sameFilter(list.filter, filter) && list.loading === cursor ? { ...list, loading: null } : list;

/** Which cursor to ask for now ('' for the first page), or null: nothing more, or a request is out. */
export function nextRequest(list: HostList, lastShownIndex: number, prefetch = PREFETCH_ROWS): string | null {
  if (list.loading !== null) return null;
  if (!list.started) return '';
  if (list.nextCursor === null) return null;
  return lastShownIndex >= list.rows.length - prefetch ? list.nextCursor : null;
}

export type HostChange = { hostId: string; state: RunState; step: RunView['step']; failure: RunView['failure'] };

/**
 * Hosts' changes from the plan's event stream (the latest of each, gathered for a moment)
 * applied to their rows, one pass over the list however many changed.
 */
export function applyHostChanges(list: HostList, changes: ReadonlyMap<string, HostChange>): HostList {
  if (changes.size === 0) return list;
  let changed = false;
  const rows = list.rows.map((row) => {
    const c = changes.get(row.hostId);
    if (!c) return row;
    changed = true;
    return { ...row, state: c.state, step: c.step, failureCode: c.failure?.code ?? '' };
  });
  return changed ? { ...list, rows } : list;
}
