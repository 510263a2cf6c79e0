// The alerts as the console shows them, pure: each alert's state in one word (firing,
// acknowledged, resolved), the list filters and what each asks the alerting API for,
// severities ranked and iconed, the overview's few newest, and the in-console deep link
// of the alert's link (YX_CONSOLE_URL may name another origin than this console's).

import type { AlertView, SilenceView } from '@yixing/alerting';

export type { AlertView, SilenceView };

export interface AlertPage {
  items: AlertView[];
  nextCursor: string | null;
}

export interface SilencePage {
  items: SilenceView[];
  nextCursor: string | null;
}

/** An alert's state in one word: a firing alert someone acknowledged is `acknowledged`. */
export type AlertState = 'firing' | 'acknowledged' | 'resolved';

export const alertStateOf = (a: Pick<AlertView, 'status' | 'acknowledged'>): AlertState =>
  a.status === 'resolved' ? 'resolved' : a.acknowledged ? 'acknowledged' : 'firing';

export const ALERT_FILTERS = ['firing', 'acknowledged', 'resolved', 'all'] as const;
export type AlertFilter = (typeof ALERT_FILTERS)[number];

export const isAlertFilter = (v: string | null): v is AlertFilter => ALERT_FILTERS.includes(v as AlertFilter);

/**
 * The query of one page of `filter`. The API filters firing or resolved; acknowledged is a
 * firing alert's property it does not filter by, so those two filters ask for the firing
 * ones and keep theirs (keepsAlert): a page can then show fewer than it fetched.
 */
export function alertsQuery(filter: AlertFilter, cursor: string | null, limit: number): string {
  const q = new URLSearchParams({ state: filter === 'acknowledged' ? 'firing' : filter, limit: String(limit) });
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

/** Whether `filter` lists `a`: firing lists the acknowledged ones too (they still fire). */
export const keepsAlert = (filter: AlertFilter, a: AlertView): boolean =>
  filter === 'all' || (filter === 'firing' ? a.status === 'firing' : alertStateOf(a) === filter);

/** The list with a further page added: each alert once (a later copy replaces an earlier). */
export function appendPage(list: readonly AlertView[], page: readonly AlertView[]): AlertView[] {
  const at = new Map(list.map((a, i) => [a.fingerprint, i]));
  const out = [...list];
  for (const a of page) {
    const i = at.get(a.fingerprint);
    if (i === undefined) {
      at.set(a.fingerprint, out.length);
      out.push(a);
    } else out[i] = a;
  }
  return out;
}

/** The list with one alert replaced (after an action), or dropped when the filter no longer keeps it. */
export const replaceAlert = (list: readonly AlertView[], a: AlertView, filter: AlertFilter): AlertView[] =>
  list.flatMap((x) => (x.fingerprint !== a.fingerprint ? [x] : keepsAlert(filter, a) ? [a] : []));

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A severity the console knows, else `info` (a rule may carry another word). */
export const severityOf = (a: Pick<AlertView, 'labels'>): Severity => {
  const s = a.labels.severity;
  return SEVERITIES.includes(s as Severity) ? (s as Severity) : 'info';
};

/** An icon per severity, shown beside its name (never colour alone). */
export const SEVERITY_ICON: Readonly<Record<Severity, string>> = { critical: '‼', warning: '⚠', info: 'ℹ' };

const rank = (s: Severity): number => SEVERITIES.indexOf(s);

/** Firing alerts for the overview: how many of each severity, and the `n` newest, most severe first among equals. */
export function firingDigest(alerts: readonly AlertView[], n: number): { bySeverity: Record<Severity, number>; newest: AlertView[] } {
  const firing = alerts.filter((a) => a.status === 'firing');
  const bySeverity = { critical: 0, warning: 0, info: 0 };
  for (const a of firing) bySeverity[severityOf(a)] += 1;
  const newest = [...firing].sort((a, b) => b.startsAt.localeCompare(a.startsAt) || rank(severityOf(a)) - rank(severityOf(b))).slice(0, n);
  return { bySeverity, newest };
}

/** Where the alert happened, as a short text: `plan / host / step`, those it names. */
export const whereOf = (a: Pick<AlertView, 'labels'>): string =>
  ['plan', 'host', 'step']
    .map((k) => a.labels[k])
    .filter((v): v is string => Boolean(v))
    .join(' / ');

const CONSOLE_PATH = /^\/(plans|hosts)\//;

/**
 * The alert's link as a path of this console (the failed step's view), or null when it
 * names nothing the console shows. The link's origin is YX_CONSOLE_URL's, which may not
 * be the one this page was loaded from (a proxy, a test's placeholder): the path is kept.
 */
export function deepLinkOf(a: Pick<AlertView, 'link' | 'labels'>): string | null {
  let path: string | null = null;
  try {
    path = new URL(a.link, 'http://console.invalid').pathname;
  } catch {
    path = null;
  }
  if (path && CONSOLE_PATH.test(path)) return path;
  const { plan, host, step } = a.labels;
  if (plan && host && step) return `/plans/${encodeURIComponent(plan)}/hosts/${encodeURIComponent(host)}/steps/${encodeURIComponent(step)}`;
  if (host) return `/hosts/${encodeURIComponent(host)}`;
  return null;
}

/** The labels in reading order: alertname and severity, then where, then the rest by name. */
export function labelsInOrder(labels: Readonly<Record<string, string>>): [string, string][] {
  const first = ['alertname', 'severity', 'plan', 'wave', 'host', 'step', 'failure_code'];
  const order = (k: string): number => (first.includes(k) ? first.indexOf(k) : first.length);
  return Object.entries(labels).sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
}
