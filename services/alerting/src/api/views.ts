// What the alerting API answers with: alerts and silences as an operator reads them, times
// in ISO 8601, the console link whole.

import { silenceState } from '../engine/silences.ts';
import { type AlertDoc, alertOf, isAcknowledged, isFiring, statusOf } from '../store/alert.store.ts';
import type { SilenceDoc } from '../store/silence.store.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

export function alertView(d: AlertDoc, consoleUrl: string) {
  const a = alertOf(d, consoleUrl);
  const acknowledged = isAcknowledged(d);
  return {
    fingerprint: a.fingerprint,
    status: statusOf(d),
    acknowledged,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: iso(a.startsAt),
    endsAt: a.endsAt === null ? null : iso(a.endsAt),
    link: a.link,
    /** Who acknowledged this episode; null when nobody has. */
    ackedBy: acknowledged && d.ackedBy ? d.ackedBy : null,
    ackedAt: acknowledged ? d.ackedAt.toISOString() : null,
    /** `rule` (its condition ended), `prometheus`, `expired` or the operator who resolved it; null while it fires. */
    resolvedBy: isFiring(d) ? null : d.resolvedBy || null,
  };
}

export type AlertView = ReturnType<typeof alertView>;

export function silenceView(d: SilenceDoc, now: number) {
  return {
    id: d._id,
    matchers: d.matchers,
    state: silenceState({ startsAt: d.startsAt.getTime(), endsAt: d.endsAt.getTime() }, now),
    startsAt: d.startsAt.toISOString(),
    endsAt: d.endsAt.toISOString(),
    createdBy: d.createdBy,
    comment: d.comment,
    createdAt: d.createdAt.toISOString(),
    /** Who expired it before its end; null when it ran (or runs) its course. */
    expiredBy: d.expiredBy || null,
  };
}

export type SilenceView = ReturnType<typeof silenceView>;
