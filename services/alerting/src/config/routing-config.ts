// The `route:` tree and `inhibit_rules:` of the alerting configuration, as the operator
// writes them (YAML or JSON, Alertmanager's snake_case keys), checked all at once: every
// problem is reported with its path (`route.routes[1].group_wait: "5x" is not a duration`)
// so one edit fixes them all. Defaults are Alertmanager's (30s, 5m, 4h).
import { ConfigError } from '@yixing/common';
import type { InhibitRule } from '../engine/inhibition.ts';
import { type Matcher, matcher, parseMatchers } from '../engine/matchers.ts';
import { type Problem, problemsText } from '../engine/problem.ts';
import { buildRouteTree, DEFAULT_TIMERS, type Route, type RouteSpec } from '../engine/routing.ts';

export interface RoutingConfig {
  readonly route: Route;
  readonly inhibitRules: readonly InhibitRule[];
}

export type RoutingConfigResult =
  | { readonly ok: true; readonly config: RoutingConfig }
  | { readonly ok: false; readonly problems: readonly Problem[] };

const ROUTE_KEYS = [
  'receiver',
  'group_by',
  'continue',
  'matchers',
  'match',
  'match_re',
  'group_wait',
  'group_interval',
  'repeat_interval',
  'routes',
] as const;
const INHIBIT_KEYS = [
  'source_matchers',
  'target_matchers',
  'source_match',
  'source_match_re',
  'target_match',
  'target_match_re',
  'equal',
] as const;
/** Alertmanager keys we know but do not implement: said so, rather than "unknown". */
const NOT_SUPPORTED = new Set(['mute_time_intervals', 'active_time_intervals']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const UNITS: Readonly<Record<string, number>> = {
  y: 365 * 86_400_000,
  w: 7 * 86_400_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
};
// Prometheus' duration grammar: units from the largest down, each at most once, integers only.
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * A Prometheus duration (`30s`, `5m`, `4h`, `1d`, `1h30m`, `500ms`, `0`) in ms, or null
 * if it is not one. Written here: `ms` and the like take `1.5h` and `5 min` but not
 * Prometheus' compound `1h30m`, and Alertmanager configurations use the latter.
 */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  const m = DURATION.exec(text);
  if (!m || text === '') return null;
  const units = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  return units.reduce((sum, unit, i) => sum + Number(m[i + 1] ?? 0) * UNITS[unit]!, 0);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v)));

class Checker {
  readonly problems: Problem[] = [];
  private readonly receivers: ReadonlySet<string>;

  constructor(receiverNames: readonly string[]) {
    this.receivers = new Set(receiverNames);
  }

  problem(path: string, reason: string): void {
    this.problems.push({ path, reason });
  }

  /** Reports keys not in `known`; returns the object, or null (reported) when `v` is not one. */
  object(v: unknown, path: string, known: readonly string[]): Obj | null {
    if (!isObj(v)) {
      this.problem(path, `must be a mapping, not ${show(v)}`);
      return null;
    }
    for (const key of Object.keys(v)) {
      if (NOT_SUPPORTED.has(key)) this.problem(`${path}.${key}`, 'is not supported by Yixing alerting (use silences)');
      else if (!known.includes(key)) this.problem(`${path}.${key}`, `unknown key (known: ${known.join(', ')})`);
    }
    return v;
  }

  list(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    this.problem(path, `must be a list, not ${show(v)}`);
    return [];
  }

  labelNames(v: unknown, path: string): string[] {
    const names: string[] = [];
    this.list(v, path).forEach((name, i) => {
      if (typeof name !== 'string' || !LABEL_NAME.test(name)) this.problem(`${path}[${i}]`, `${show(name)} is not a label name`);
      else names.push(name);
    });
    return names;
  }

  duration(v: unknown, path: string, nonZero: boolean): number | undefined {
    if (v === undefined) return undefined;
    const ms = typeof v === 'string' ? parseDuration(v) : null;
    if (ms === null) this.problem(path, `${show(v)} is not a duration (like 30s, 5m, 4h, 1d, 1h30m)`);
    else if (nonZero && ms === 0) this.problem(path, 'cannot be zero');
    return ms ?? undefined;
  }

  /** `matchers: ['a="b"', ...]` plus the deprecated maps `match: {a: b}` and `match_re: {a: "b.*"}`. */
  matchers(list: unknown, eq: unknown, re: unknown, path: string, names: readonly [string, string, string]): Matcher[] {
    const out: Matcher[] = [];
    this.list(list, `${path}.${names[0]}`).forEach((text, i) => {
      const at = `${path}.${names[0]}[${i}]`;
      if (typeof text !== 'string') {
        this.problem(at, `${show(text)} is not a matcher string like 'severity="critical"'`);
        return;
      }
      try {
        out.push(...parseMatchers(text));
      } catch (err) {
        this.problem(at, (err as Error).message);
      }
    });
    for (const [map, type, key] of [
      [eq, '=', names[1]],
      [re, '=~', names[2]],
    ] as const) {
      if (map === undefined || map === null) continue;
      if (!isObj(map)) {
        this.problem(`${path}.${key}`, `must be a mapping of label names to values, not ${show(map)}`);
        continue;
      }
      for (const [name, value] of Object.entries(map)) {
        const at = `${path}.${key}.${name}`;
        if (!LABEL_NAME.test(name)) this.problem(at, `${JSON.stringify(name)} is not a label name`);
        else if (typeof value !== 'string') this.problem(at, `${show(value)} is not a string`);
        else {
          try {
            out.push(matcher(name, type, value));
          } catch (err) {
            this.problem(at, (err as Error).message);
          }
        }
      }
    }
    return out;
  }

  route(v: unknown, path: string, isRoot: boolean): RouteSpec {
    const r = this.object(v, path, ROUTE_KEYS);
    if (!r) return {};
    const spec: RouteSpec = {};
    if (r.receiver !== undefined) {
      if (typeof r.receiver !== 'string' || r.receiver === '')
        this.problem(`${path}.receiver`, `${show(r.receiver)} is not a receiver name`);
      else if (!this.receivers.has(r.receiver)) {
        const known = [...this.receivers].map((n) => JSON.stringify(n)).join(', ') || 'none are configured';
        this.problem(`${path}.receiver`, `${JSON.stringify(r.receiver)} is not a receiver (receivers: ${known})`);
      } else spec.receiver = r.receiver;
    } else if (isRoot) this.problem(`${path}.receiver`, 'the root route needs a receiver (it takes every alert no other route takes)');
    if (r.group_by !== undefined) spec.groupBy = this.groupBy(r.group_by, `${path}.group_by`);
    if (r.continue !== undefined) {
      if (typeof r.continue !== 'boolean') this.problem(`${path}.continue`, `must be true or false, not ${show(r.continue)}`);
      else if (isRoot && r.continue) this.problem(`${path}.continue`, 'the root route cannot continue (it has no siblings)');
      else spec.continue = r.continue;
    }
    const matchers = this.matchers(r.matchers, r.match, r.match_re, path, ['matchers', 'match', 'match_re']);
    if (isRoot && matchers.length > 0) this.problem(`${path}.matchers`, 'the root route cannot have matchers (it must take every alert)');
    else if (matchers.length > 0) spec.matchers = matchers;
    spec.groupWaitMs = this.duration(r.group_wait, `${path}.group_wait`, false);
    spec.groupIntervalMs = this.duration(r.group_interval, `${path}.group_interval`, true);
    spec.repeatIntervalMs = this.duration(r.repeat_interval, `${path}.repeat_interval`, true);
    spec.routes = this.list(r.routes, `${path}.routes`).map((child, i) => this.route(child, `${path}.routes[${i}]`, false));
    return spec;
  }

  groupBy(v: unknown, path: string): string[] {
    const raw = this.list(v, path);
    if (raw.includes('...')) {
      if (raw.length > 1) this.problem(path, "'...' (every label) cannot be listed with other labels");
      return ['...'];
    }
    const names = this.labelNames(raw, path);
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) this.problem(path, `${JSON.stringify(name)} is listed twice`);
      seen.add(name);
    }
    return names;
  }

  inhibitRule(v: unknown, path: string): InhibitRule | null {
    const r = this.object(v, path, INHIBIT_KEYS);
    if (!r) return null;
    const before = this.problems.length;
    const sourceMatchers = this.matchers(r.source_matchers, r.source_match, r.source_match_re, path, [
      'source_matchers',
      'source_match',
      'source_match_re',
    ]);
    const targetMatchers = this.matchers(r.target_matchers, r.target_match, r.target_match_re, path, [
      'target_matchers',
      'target_match',
      'target_match_re',
    ]);
    const equal = this.labelNames(r.equal, `${path}.equal`);
    if (this.problems.length === before) {
      if (sourceMatchers.length === 0) this.problem(`${path}.source_matchers`, 'missing: every firing alert would inhibit the targets');
      if (targetMatchers.length === 0) this.problem(`${path}.target_matchers`, 'missing: the rule would mute every alert');
    }
    return { sourceMatchers, targetMatchers, equal };
  }
}

/**
 * Checks the `route` and `inhibit_rules` sections of `data` (the whole alerting
 * configuration; other sections are not looked at) against the configured receivers'
 * names, and builds the routing tree with Alertmanager's default timers.
 */
export function parseRoutingConfig(data: unknown, receiverNames: readonly string[]): RoutingConfigResult {
  const c = new Checker(receiverNames);
  if (!isObj(data)) return { ok: false, problems: [{ path: '', reason: `the configuration must be a mapping, not ${show(data)}` }] };
  let spec: RouteSpec = {};
  if (data.route === undefined || data.route === null) c.problem('route', 'missing: the root route with its receiver');
  else spec = c.route(data.route, 'route', true);
  const inhibitRules = c
    .list(data.inhibit_rules, 'inhibit_rules')
    .map((rule, i) => c.inhibitRule(rule, `inhibit_rules[${i}]`))
    .filter((rule) => rule !== null);
  if (c.problems.length > 0) return { ok: false, problems: c.problems };
  return { ok: true, config: { route: buildRouteTree(spec, DEFAULT_TIMERS), inhibitRules } };
}

/** parseRoutingConfig for startup: throws a ConfigError listing every problem (details.problems). */
export function loadRoutingConfig(data: unknown, receiverNames: readonly string[]): RoutingConfig {
  const result = parseRoutingConfig(data, receiverNames);
  if (result.ok) return result.config;
  throw new ConfigError(`alerting configuration:\n${problemsText(result.problems)}`, { details: { problems: result.problems } });
}
