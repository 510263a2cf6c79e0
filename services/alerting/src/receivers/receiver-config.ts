// Receivers as data, in Alertmanager's shape (`receivers: [{ name, webhook_configs: [...],
// dingtalk_configs: [...] }]`, snake_case keys, durations like `15m`), checked all at once:
// every problem is reported as `receivers[2].dingtalk_configs[0].url: not an http(s) URL`,
// and nothing is built from a configuration that has one.
// Email is checked and built by the email helper's module, passed in as `integrations.email`.
import { ConfigError } from '@yixing/common';
import { parseDuration } from '../config/routing-config.ts';
import { AlertmanagerReceiver, DEFAULT_RESOLVE_TIMEOUT_MS } from './alertmanager.receiver.ts';
import { DingTalkReceiver } from './dingtalk.receiver.ts';
import { FeishuReceiver } from './feishu.receiver.ts';
import { PAGERDUTY_EVENTS_URL, PAGERDUTY_SEVERITIES, PagerDutyReceiver, type PagerDutySeverity } from './pagerduty.receiver.ts';
import type { Receiver, ReceiverKind } from './receiver.ts';
import { DEFAULT_LOCALE, LOCALES, type Locale } from './receiver-text.ts';
import { WebhookReceiver } from './webhook.receiver.ts';
import { WeComReceiver } from './wecom.receiver.ts';

export const RECEIVER_KINDS: readonly ReceiverKind[] = ['webhook', 'alertmanager', 'pagerduty', 'email', 'dingtalk', 'wecom', 'feishu'];
/** Per attempt, as Alertmanager's HTTP client defaults are generous and the dispatcher retries anyway. */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface ConfigCheck<C> {
  /** Set only when there are no problems. */
  config?: C;
  problems: string[];
}

/** How one kind of integration is checked (raw data at `path`) and built. */
export interface Integration<C = unknown> {
  check(raw: unknown, path: string): ConfigCheck<C>;
  build(name: string, config: C): Receiver;
}

/** What the caller adds: email (checkEmailConfig and EmailReceiver, kept in email*.ts). */
export interface ExtraIntegrations {
  email?: Integration<unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one object's keys, noting each problem under `path`. */
class Fields {
  readonly problems: string[] = [];
  readonly #raw: Record<string, unknown>;
  readonly #path: string;
  constructor(raw: Record<string, unknown>, path: string, known: readonly string[]) {
    this.#raw = raw;
    this.#path = path;
    for (const key of Object.keys(raw)) if (!known.includes(key)) this.problem(key, `unknown key (known: ${known.join(', ')})`);
  }

  problem(key: string, what: string): void {
    this.problems.push(`${this.#path}.${key}: ${what}`);
  }

  #get(key: string, required: boolean): unknown {
    const v = this.#raw[key];
    if (v === undefined && required) this.problem(key, 'is required');
    return v;
  }

  str(key: string, required = false): string | undefined {
    const v = this.#get(key, required);
    if (v === undefined) return undefined;
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    this.problem(key, 'must be a non-empty string');
    return undefined;
  }

  url(key: string, required = true): string | undefined {
    const v = this.str(key, required);
    if (v === undefined) return undefined;
    let u: URL | undefined;
    try {
      u = new URL(v);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) this.problem(key, 'not an http(s) URL');
    // fetch refuses URLs with credentials; an Authorization header is the way (http_headers).
    else if (u.username || u.password) this.problem(key, 'must not hold a user or password');
    else return v;
    return undefined;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.#get(key, false);
    if (v === undefined) return undefined;
    if ((values as readonly unknown[]).includes(v)) return v as T;
    this.problem(key, `must be one of ${values.join(', ')}`);
    return undefined;
  }

  duration(key: string, fallback: number, minMs: number): number {
    const v = this.#get(key, false);
    if (v === undefined) return fallback;
    const ms = typeof v === 'string' ? (parseDuration(v) ?? undefined) : undefined;
    if (ms === undefined) this.problem(key, 'must be a duration such as 10s, 5m or 1h30m');
    else if (ms < minMs) this.problem(key, `must be at least ${minMs} ms`);
    return ms ?? fallback;
  }

  int(key: string, fallback: number, min: number): number {
    const v = this.#get(key, false);
    if (v === undefined) return fallback;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return v;
    this.problem(key, `must be an integer of at least ${min}`);
    return fallback;
  }

  bool(key: string): boolean {
    const v = this.#get(key, false);
    if (v === undefined || typeof v === 'boolean') return v ?? false;
    this.problem(key, 'must be true or false');
    return false;
  }

  strings(key: string, pattern: RegExp, what: string): string[] {
    const v = this.#get(key, false);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.problem(key, 'must be a list');
      return [];
    }
    v.forEach((x, i) => {
      if (typeof x !== 'string' || !pattern.test(x)) this.problem(`${key}[${i}]`, `must be ${what}`);
    });
    return v.filter((x): x is string => typeof x === 'string');
  }

  headers(key: string): Record<string, string> {
    const v = this.#get(key, false);
    if (v === undefined) return {};
    if (!isRecord(v)) {
      this.problem(key, 'must be a map of header names to values');
      return {};
    }
    for (const [name, value] of Object.entries(v)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) this.problem(`${key}.${name}`, 'not a valid header name');
      else if (/^(content-type|content-length|host|idempotency-key)$/i.test(name))
        this.problem(`${key}.${name}`, 'set by the receiver itself');
      if (typeof value !== 'string' || /[\r\n]/.test(value)) this.problem(`${key}.${name}`, 'must be a one-line string');
    }
    return v as Record<string, string>;
  }

  common(): { locale: Locale; timeoutMs: number } {
    return { locale: this.oneOf('locale', LOCALES) ?? DEFAULT_LOCALE, timeoutMs: this.duration('timeout', DEFAULT_TIMEOUT_MS, 100) };
  }
}

const COMMON = ['locale', 'timeout'];
const MOBILE = /^\+?[0-9][0-9-]{4,19}$/;

/** Reads `raw` at `path` with `read` (which notes problems on its Fields), built only when clean. */
function integration<C>(known: readonly string[], read: (f: Fields) => C, build: (name: string, c: C) => Receiver): Integration<C> {
  return {
    check(raw, path) {
      if (!isRecord(raw)) return { problems: [`${path}: must be an object`] };
      const f = new Fields(raw, path, [...known, ...COMMON]);
      const config = read(f);
      return f.problems.length > 0 ? { problems: f.problems } : { config, problems: [] };
    },
    build,
  };
}

export const INTEGRATIONS = {
  webhook: integration(
    ['url', 'max_alerts', 'http_headers'],
    (f) => ({ url: f.url('url')!, maxAlerts: f.int('max_alerts', 0, 0), httpHeaders: f.headers('http_headers'), ...f.common() }),
    (name, c) => new WebhookReceiver(name, c),
  ),
  alertmanager: integration(
    ['url', 'resolve_timeout'],
    (f) => ({ url: f.url('url')!, resolveTimeoutMs: f.duration('resolve_timeout', DEFAULT_RESOLVE_TIMEOUT_MS, 30_000), ...f.common() }),
    (name, c) => new AlertmanagerReceiver(name, c),
  ),
  pagerduty: integration(
    ['routing_key', 'url', 'severity'],
    (f) => {
      const routingKey = f.str('routing_key', true);
      if (routingKey !== undefined && /\s/.test(routingKey)) f.problem('routing_key', 'must not contain spaces');
      const severity: PagerDutySeverity | undefined = f.oneOf('severity', PAGERDUTY_SEVERITIES);
      return { routingKey: routingKey!, url: f.url('url', false) ?? PAGERDUTY_EVENTS_URL, severity, ...f.common() };
    },
    (name, c) => new PagerDutyReceiver(name, c),
  ),
  dingtalk: integration(
    ['url', 'secret', 'at_mobiles', 'at_all'],
    (f) => ({
      url: f.url('url')!,
      secret: f.str('secret'),
      atMobiles: f.strings('at_mobiles', MOBILE, 'a mobile number'),
      atAll: f.bool('at_all'),
      ...f.common(),
    }),
    (name, c) => new DingTalkReceiver(name, c),
  ),
  wecom: integration(
    ['url', 'mentioned_mobile_list'],
    (f) => ({
      url: f.url('url')!,
      mentionedMobiles: f.strings('mentioned_mobile_list', /^(\+?[0-9][0-9-]{4,19}|@all)$/, 'a mobile number or @all'),
      ...f.common(),
    }),
    (name, c) => new WeComReceiver(name, c),
  ),
  feishu: integration(
    ['url', 'secret'],
    (f) => ({ url: f.url('url')!, secret: f.str('secret'), ...f.common() }),
    (name, c) => new FeishuReceiver(name, c),
  ),
} satisfies Record<Exclude<ReceiverKind, 'email'>, Integration<unknown>>;

function integrationOf(kind: ReceiverKind, extra: ExtraIntegrations): Integration<unknown> | undefined {
  return (kind === 'email' ? extra.email : INTEGRATIONS[kind]) as Integration<unknown> | undefined;
}

/** Checks one integration's raw config; a ConfigError naming every problem, or the receiver. */
export function buildReceiver(name: string, kind: ReceiverKind, config: unknown, extra: ExtraIntegrations = {}): Receiver {
  const path = `${name}.${kind}_config`;
  const integ = integrationOf(kind, extra);
  if (!integ) throw new ConfigError(`${path}: no ${kind} integration is wired in`, { details: { problems: [`${path}: not wired in`] } });
  const checked = integ.check(config, path);
  if (checked.problems.length > 0) throw new ConfigError(checked.problems.join('; '), { details: { problems: checked.problems } });
  return integ.build(name, checked.config);
}

export interface ConfiguredReceiver {
  name: string;
  /** One per `<kind>_configs` entry, in the order of RECEIVER_KINDS then of the lists; each named `name`. */
  integrations: Receiver[];
}

/**
 * Checks an Alertmanager-style `receivers` list: unique names, known keys, every integration's
 * config. Returns every problem; the receivers only when there are none. A receiver with no
 * integration is allowed (Alertmanager's way to drop what a route sends it).
 */
export function checkReceivers(raw: unknown, extra: ExtraIntegrations = {}, path = 'receivers'): ConfigCheck<ConfiguredReceiver[]> {
  if (!Array.isArray(raw)) return { problems: [`${path}: must be a list of receivers`] };
  const problems: string[] = [];
  const built: (() => ConfiguredReceiver)[] = [];
  const names = new Set<string>();
  raw.forEach((r, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(r)) {
      problems.push(`${at}: must be an object with a name`);
      return;
    }
    const known = ['name', ...RECEIVER_KINDS.map((k) => `${k}_configs`)];
    for (const key of Object.keys(r)) if (!known.includes(key)) problems.push(`${at}.${key}: unknown key (known: ${known.join(', ')})`);
    const name = typeof r.name === 'string' ? r.name.trim() : '';
    if (name === '') problems.push(`${at}.name: is required (a non-empty string)`);
    // Notification ids are `<receiver>|<groupKey>|<seq>`.
    else if (/[|\r\n]/.test(name)) problems.push(`${at}.name: must not contain "|" or line breaks`);
    else if (names.has(name)) problems.push(`${at}.name: "${name}" is used by an earlier receiver`);
    names.add(name);
    const parts: (() => Receiver)[] = [];
    for (const kind of RECEIVER_KINDS) {
      const list = r[`${kind}_configs`];
      if (list === undefined) continue;
      const listPath = `${at}.${kind}_configs`;
      if (!Array.isArray(list)) {
        problems.push(`${listPath}: must be a list`);
        continue;
      }
      const integ = integrationOf(kind, extra);
      if (!integ) {
        problems.push(`${listPath}: no ${kind} integration is wired into this service`);
        continue;
      }
      list.forEach((c, j) => {
        const checked = integ.check(c, `${listPath}[${j}]`);
        problems.push(...checked.problems);
        parts.push(() => integ.build(name, checked.config));
      });
    }
    built.push(() => ({ name, integrations: parts.map((p) => p()) }));
  });
  return problems.length > 0 ? { problems } : { config: built.map((b) => b()), problems: [] };
}
