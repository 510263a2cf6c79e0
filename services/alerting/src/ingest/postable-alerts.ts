// Alerts pushed to the alerting service in Alertmanager's API v2 (`POST /api/v2/alerts`, a
// list of postableAlerts), as Prometheus sends them to every `alerting.alertmanagers`
// target: each evaluation re-sends what fires with endsAt a few resend intervals ahead,
// and what stopped firing with endsAt in the past. What one request means for the stored
// alerts, decided here as a pure function; checked whole, every problem named at once,
// and nothing applied unless there is none.
// API: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml (postableAlert)
import { ISO_TIME } from '../api/silence-request.ts';
import { fingerprint } from '../engine/fingerprint.ts';
import type { Problem } from '../engine/problem.ts';
import type { LabelSet } from '../model/alert.ts';
import { ALERT_NAMES } from '../rules/alert-rules.ts';

export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** RFC 3339; absent or Go's zero time: now. */
  startsAt?: string;
  /** RFC 3339; absent or Go's zero time: now + the resolve timeout. Past: resolved. */
  endsAt?: string;
  generatorURL?: string;
}

/** What one request may hold; Prometheus sends at most 64 alerts a request. */
export const POSTED_LIMITS = {
  alerts: 1000,
  labels: 64,
  annotations: 64,
  nameChars: 128,
  labelValueChars: 1024,
  annotationValueChars: 8192,
  urlChars: 2048,
} as const;

/** Alertmanager's resolve_timeout: an alert sent without endsAt resolves this long after it was last sent. */
export const DEFAULT_PUSH_RESOLVE_TIMEOUT_MS = 5 * 60_000;

// Prometheus's classic label names (what the matchers and the routing tree take).
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Go's zero time.Time, which Alertmanager clients send for "not set". */
const GO_ZERO_TIME_MS = Date.parse('0001-01-01T00:00:00Z');

const stringMap = (maxEntries: number, maxValueChars: number) =>
  ({
    type: 'object',
    maxProperties: maxEntries,
    additionalProperties: { type: 'string', maxLength: maxValueChars },
  }) as const;

/** The body's JSON Schema: its shape and sizes (names, times and the rest are checked by changesOfPostedAlerts). */
export const postableAlertsSchema = {
  type: 'array',
  maxItems: POSTED_LIMITS.alerts,
  description: "Alertmanager's postableAlerts: what Prometheus sends to each of its alerting.alertmanagers.",
  items: {
    type: 'object',
    required: ['labels'],
    additionalProperties: false,
    properties: {
      labels: { ...stringMap(POSTED_LIMITS.labels, POSTED_LIMITS.labelValueChars), minProperties: 1 },
      annotations: stringMap(POSTED_LIMITS.annotations, POSTED_LIMITS.annotationValueChars),
      startsAt: { type: 'string', maxLength: 64, description: 'RFC 3339; when it started firing.' },
      endsAt: { type: 'string', maxLength: 64, description: 'RFC 3339; past: resolved, future: fires until then unless sent again.' },
      generatorURL: { type: 'string', maxLength: POSTED_LIMITS.urlChars, description: 'Where it came from (the Prometheus expression).' },
    },
  },
} as const;

/** What one pushed alert does to its stored alert (the fingerprint of its labels). */
export type PushedChange =
  | {
      op: 'fire';
      fingerprint: string;
      labels: LabelSet;
      annotations: LabelSet;
      /** Epoch ms the episode started (never after now). */
      startsAt: number;
      /** Epoch ms it resolves unless sent again (its endsAt). */
      expiresAt: number;
      generatorUrl: string;
    }
  | { op: 'resolve'; fingerprint: string; labels: LabelSet };

function time(text: string | undefined, path: string, problems: Problem[]): number | null {
  if (text === undefined || text === '') return null;
  const ms = ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    problems.push({ path, reason: `${JSON.stringify(text)} is not an RFC 3339 time with a zone (like 2026-12-06T15:00:00Z)` });
    return null;
  }
  return ms === GO_ZERO_TIME_MS ? null : ms;
}

function names(set: Record<string, string> | undefined, path: string, problems: Problem[]): void {
  for (const name of Object.keys(set ?? {}))
    if (name.length > POSTED_LIMITS.nameChars || !LABEL_NAME.test(name))
      problems.push({
        path: `${path}.${name}`,
        reason: `is not a label name (letters, digits and _, not first a digit; at most ${POSTED_LIMITS.nameChars})`,
      });
}

/**
 * What `alerts`, received at `now`, change: an alert whose endsAt is past resolves, any
 * other fires until its endsAt (now + `resolveTimeoutMs` when it has none). Empty label
 * values are dropped, as Alertmanager ignores them. Returns every problem instead when
 * there is one.
 */
export function changesOfPostedAlerts(
  alerts: readonly PostableAlert[],
  now: number,
  resolveTimeoutMs: number,
): { changes: PushedChange[]; problems: [] } | { changes: []; problems: Problem[] } {
  const problems: Problem[] = [];
  const changes: PushedChange[] = [];
  alerts.forEach((a, i) => {
    const at = `body[${i}]`;
    const before = problems.length;
    names(a.labels, `${at}.labels`, problems);
    names(a.annotations, `${at}.annotations`, problems);
    if (!a.labels.alertname) problems.push({ path: `${at}.labels.alertname`, reason: 'is required (the alert rule’s name)' });
    // The service's own alerts fire and resolve on the events only: a sender cannot resolve or take one over.
    else if ((ALERT_NAMES as readonly string[]).includes(a.labels.alertname))
      problems.push({ path: `${at}.labels.alertname`, reason: `${a.labels.alertname} is an alert of the alerting service's own rules` });
    const startsAt = time(a.startsAt, `${at}.startsAt`, problems);
    const endsAt = time(a.endsAt, `${at}.endsAt`, problems);
    if (startsAt !== null && endsAt !== null && endsAt < startsAt)
      problems.push({ path: `${at}.endsAt`, reason: `is before startsAt (${a.startsAt})` });
    const url = a.generatorURL ?? '';
    if (url !== '' && !isHttpUrl(url)) problems.push({ path: `${at}.generatorURL`, reason: 'is not an http(s) URL' });
    if (problems.length > before) return;
    const labels = Object.fromEntries(Object.entries(a.labels).filter(([, v]) => v !== ''));
    const fp = fingerprint(labels);
    const expiresAt = endsAt ?? now + resolveTimeoutMs;
    if (expiresAt <= now) changes.push({ op: 'resolve', fingerprint: fp, labels });
    else
      changes.push({
        op: 'fire',
        fingerprint: fp,
        labels,
        annotations: { ...(a.annotations ?? {}) },
        startsAt: Math.min(startsAt ?? now, now),
        expiresAt,
        generatorUrl: url,
      });
  });
  return problems.length > 0 ? { changes: [], problems } : { changes, problems: [] };
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
