// Which pool report the assessment view asks for: the fleet's (filtered by labels) or a
// plan's, with the estimate's assumptions. The form's values live in the page's address
// (?pool=…&slots=…) so a filtered report is a link; the API validates them and names a
// bad field (a 400 the view shows).
import { API } from '../api/client.ts';

/** The fleet report's label filters (GET /v1/assessment). */
export const LABEL_FIELDS = ['pool', 'cluster', 'zone', 'rack', 'role'] as const;
/** The estimate's assumptions, both reports. */
export const ESTIMATE_FIELDS = ['slots', 'throughputMiBps', 'secondsPerPackage', 'fixedSeconds'] as const;

export type LabelField = (typeof LABEL_FIELDS)[number];
export type EstimateField = (typeof ESTIMATE_FIELDS)[number];
export type ReportField = LabelField | EstimateField;

export type ReportScope = { kind: 'fleet' } | { kind: 'plan'; planId: string };

/** The fields set, each trimmed and non-empty. */
export type ReportFilters = Partial<Record<ReportField, string>>;

/** The fields a scope's report accepts: a plan's hosts are the plan's, so no label filters. */
export const fieldsOf = (scope: ReportScope): readonly ReportField[] =>
  scope.kind === 'fleet' ? [...LABEL_FIELDS, ...ESTIMATE_FIELDS] : ESTIMATE_FIELDS;

/** The filters in a query string (`?pool=a&slots=4`), the scope's fields only. */
export function filtersFromSearch(search: string, scope: ReportScope): ReportFilters {
  const q = new URLSearchParams(search);
  const filters: ReportFilters = {};
  for (const field of fieldsOf(scope)) {
    const value = q.get(field)?.trim();
    if (value) filters[field] = value;
  }
  return filters;
}

/** The filters as a query string, in the fields' order ('' when none). */
export function searchOf(filters: ReportFilters): string {
  const q = new URLSearchParams();
  for (const field of [...LABEL_FIELDS, ...ESTIMATE_FIELDS]) {
    const value = filters[field]?.trim();
    if (value) q.set(field, value);
  }
  return q.size > 0 ? `?${q}` : '';
}

/** The report's API path. */
export const reportPath = (scope: ReportScope): string =>
  scope.kind === 'fleet' ? `${API.scheduler}/v1/assessment` : `${API.scheduler}/v1/plans/${encodeURIComponent(scope.planId)}/assessment`;

/** The report's URL: the overview (at most 20 hosts named per kind, a few KiB for any pool), or the CSV (one row per host). */
export function reportUrl(scope: ReportScope, filters: ReportFilters, form: 'overview' | 'csv'): string {
  const q = new URLSearchParams(searchOf(filters));
  if (form === 'overview') q.set('view', 'overview');
  if (form === 'csv') q.set('format', 'csv');
  return q.size > 0 ? `${reportPath(scope)}?${q}` : reportPath(scope);
}

/** Hosts a page of a group's drill-down asks for (the API serves up to 1000). */
export const GROUP_PAGE_SIZE = 1000;

/**
 * One page of a group's hosts (`inhibitor:<kind>`, `warning:<kind>`, `notAssessed:<reason>`):
 * the same hosts as the report (the fleet's label filters; the estimate's fields do not apply).
 */
export function groupHostsUrl(scope: ReportScope, filters: ReportFilters, group: string, cursor: string | null): string {
  const q = new URLSearchParams();
  if (scope.kind === 'fleet') for (const f of LABEL_FIELDS) if (filters[f]) q.set(f, filters[f]);
  q.set('group', group);
  q.set('limit', String(GROUP_PAGE_SIZE));
  if (cursor) q.set('cursor', cursor);
  return `${reportPath(scope)}/hosts?${q}`;
}

/** The file name a Content-Disposition header gives, or the fallback. */
export function attachmentName(disposition: string | null, fallback: string): string {
  const m = disposition?.match(/filename="([^"]+)"/) ?? disposition?.match(/filename=([^;\s]+)/);
  const name = m?.[1]?.trim();
  // A name is a name: no directories.
  return name && !/[/\\]/.test(name) ? name : fallback;
}
