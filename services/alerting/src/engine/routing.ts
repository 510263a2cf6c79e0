// Alertmanager's routing tree: an alert enters at the root and goes down to the deepest
// routes whose matchers hold; the first matching child ends the search among its siblings
// unless it says `continue`. Children inherit receiver, group_by and timers from their
// parent. Each matched route then groups the alert by its group_by labels.
import { ConfigError } from '@yixing/common';
import type { LabelSet } from '../model/alert.ts';
import { goQuote, type Matcher, matchersString, matches, sortMatchers } from './matchers.ts';

export interface RouteTimers {
  /** How long a new group waits for more alerts before its first notification. */
  readonly groupWaitMs: number;
  /** How long after a notification changes to the group may be sent. */
  readonly groupIntervalMs: number;
  /** How long after a notification an unchanged group is sent again. */
  readonly repeatIntervalMs: number;
}

/** Alertmanager's defaults: group_wait 30s, group_interval 5m, repeat_interval 4h. */
export const DEFAULT_TIMERS: RouteTimers = { groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 };

/** A route as configured: unset fields are inherited from the parent (config/routing-config.ts builds it). */
export interface RouteSpec {
  receiver?: string;
  /** Label names; `['...']` groups by all labels. */
  groupBy?: readonly string[];
  continue?: boolean;
  matchers?: readonly Matcher[];
  groupWaitMs?: number;
  groupIntervalMs?: number;
  repeatIntervalMs?: number;
  routes?: readonly RouteSpec[];
}

/** A route with everything inherited resolved. */
export interface Route {
  /**
   * Alertmanager's route id: the key and the route's index among its siblings
   * (`{}/{a="b"}/{c="d"}/0`). Like Alertmanager's, it can repeat where cousins have the
   * same matchers and index; `path` is unique.
   */
  readonly id: string;
  /** Alertmanager's route key: the matchers of the route and its ancestors (`{}/{a="b"}`); it starts the group key. */
  readonly key: string;
  /** Indexes from the root (`[]` for the root, `[1, 0]` for the first child of the second child). */
  readonly path: readonly number[];
  readonly receiver: string;
  /** The label names to group by (empty with groupByAll). */
  readonly groupBy: readonly string[];
  /** group_by: ['...']: every label of the alert is a group label. */
  readonly groupByAll: boolean;
  readonly continue: boolean;
  /** Sorted as Alertmanager sorts them. */
  readonly matchers: readonly Matcher[];
  readonly timers: RouteTimers;
  readonly routes: readonly Route[];
}

/** Resolves inheritance; the root needs a receiver (the config parser reports that with its path). */
export function buildRouteTree(root: RouteSpec, defaults: RouteTimers = DEFAULT_TIMERS): Route {
  if (root.receiver === undefined)
    throw new ConfigError('route: the root route needs a receiver', { details: { field: 'route.receiver' } });
  const top = { key: '', receiver: root.receiver, groupBy: [], groupByAll: false, timers: defaults };
  return build(root, top, [], true);
}

type Inherited = Pick<Route, 'key' | 'receiver' | 'groupBy' | 'groupByAll' | 'timers'>;

function build(spec: RouteSpec, parent: Inherited, path: number[], isRoot: boolean): Route {
  const matchers = sortMatchers(spec.matchers ?? []);
  const own = matchersString(matchers);
  const key = isRoot ? own : `${parent.key}/${own}`;
  const id = isRoot ? own : `${key}/${path[path.length - 1]}`;
  const groupByAll = spec.groupBy ? spec.groupBy.includes('...') : parent.groupByAll;
  const groupBy = groupByAll ? [] : spec.groupBy ? [...new Set(spec.groupBy)] : parent.groupBy;
  const timers: RouteTimers = {
    groupWaitMs: spec.groupWaitMs ?? parent.timers.groupWaitMs,
    groupIntervalMs: spec.groupIntervalMs ?? parent.timers.groupIntervalMs,
    repeatIntervalMs: spec.repeatIntervalMs ?? parent.timers.repeatIntervalMs,
  };
  const self: Inherited = { key, receiver: spec.receiver ?? parent.receiver, groupBy, groupByAll, timers };
  return {
    ...self,
    id,
    path,
    continue: isRoot ? false : (spec.continue ?? false),
    matchers,
    routes: (spec.routes ?? []).map((child, i) => build(child, self, [...path, i], false)),
  };
}

/**
 * The routes an alert with `labels` goes to, in tree order: the deepest matching ones;
 * among siblings the first match stops the search unless it has `continue`; a route
 * whose children all miss takes the alert itself. The root takes everything.
 */
export function route(tree: Route, labels: LabelSet): Route[] {
  return matchRoute(tree, labels) ?? [tree];
}

function matchRoute(r: Route, labels: LabelSet): Route[] | null {
  if (!matches(r.matchers, labels)) return null;
  const all: Route[] = [];
  for (const child of r.routes) {
    const found = matchRoute(child, labels);
    if (found) {
      all.push(...found);
      if (!child.continue) break;
    }
  }
  return all.length > 0 ? all : [r];
}

/** Every route of the tree, depth first (the root first). */
export function allRoutes(tree: Route): Route[] {
  return [tree, ...tree.routes.flatMap(allRoutes)];
}

/** The route at `path` (indexes from the root), or null when the tree has no such route (the configuration changed). */
export function routeAt(tree: Route, path: readonly number[]): Route | null {
  let r: Route | undefined = tree;
  for (const i of path) r = r?.routes[i];
  return r ?? null;
}

/** The group labels of an alert on a route: its group_by labels that the alert has (all of them with `...`). */
export function groupLabels(r: Route, labels: LabelSet): LabelSet {
  const out: Record<string, string> = {};
  const names = r.groupByAll ? Object.keys(labels) : r.groupBy;
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** Alertmanager's text of a label set (Go's model.LabelSet.String): `{a="1", b="2"}`, each `name=%q`, sorted as text. */
export function labelsString(labels: LabelSet): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}=${goQuote(value)}`);
  return `{${pairs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(', ')}}`;
}

/** Alertmanager's group key: route key and group labels, e.g. `{}/{severity="critical"}:{plan="p1", wave="2"}`. */
export function groupKey(r: Route, labels: LabelSet): string {
  return `${r.key}:${labelsString(groupLabels(r, labels))}`;
}
