// The dispatcher's decision for one (receiver, aggregation group): notify now, wait until
// a time, or forget the group. Alertmanager's rules (dispatch.go's aggregation groups and
// notify.go's DedupStage.needsUpdate) with three deliberate differences:
// - an alert whose silence or inhibition ended since the last notification is a change,
//   so it is notified again at once (Alertmanager waits for repeat_interval: the most
//   reported complaint after a silence expires);
// - acknowledging every firing alert is a change sent once, and then stops repeats;
// - a resolved alert is sent (once) when the receiver was told it fired, even if it is
//   muted now: closing an open incident is not noise.
import type { AlertStatus } from '../model/alert.ts';
import type { RouteTimers } from './routing.ts';

export interface FlushAlert {
  readonly fingerprint: string;
  readonly status: AlertStatus;
  /** Epoch ms it started firing. */
  readonly startsAt: number;
  readonly endsAt: number | null;
  readonly acknowledged: boolean;
  /** Silenced or inhibited now. */
  readonly muted: boolean;
  /**
   * When its last silence or inhibition ended, if it ever had one (the later of
   * silences.lastSilenceEnd and inhibition.lastInhibitionEnd); absent or null: never muted.
   */
  readonly unmutedAt?: number | null;
}

/** The notification log's last entry for a (receiver, group): what the receiver was last told. */
export interface NotificationLogEntry {
  readonly seq: number;
  /** Epoch ms of the notification. */
  readonly at: number;
  /** Fingerprints sent as firing. */
  readonly firing: readonly string[];
  /** Fingerprints sent as resolved. */
  readonly resolved: readonly string[];
  readonly acknowledged: boolean;
}

export interface FlushInput {
  /** The group's alerts on this route (firing and resolved, muted or not). */
  readonly alerts: readonly FlushAlert[];
  readonly timers: RouteTimers;
  /** Epoch ms the dispatcher made the group (its first alert arrived): group_wait counts from here. */
  readonly firstAlertAt: number;
  readonly last: NotificationLogEntry | null;
  /** The receiver's refreshMs: firing alerts are re-sent at least this often, acknowledged or not. */
  readonly refreshMs?: number | undefined;
  /** Alertmanager's send_resolved; default true. */
  readonly sendResolved?: boolean;
  readonly now: number;
}

export type FlushReason = 'first' | 'changed' | 'repeat' | 'refresh' | 'resolved' | 'acknowledged';

export type FlushDecision =
  /** Nothing to send before `until` (epoch ms); null: no timer, look again when the group or its mutes change. */
  | { readonly kind: 'wait'; readonly until: number | null }
  | {
      readonly kind: 'notify';
      /** Fingerprints to send as firing (every unmuted firing alert), sorted. */
      readonly firing: readonly string[];
      /** Fingerprints to send as resolved (resolved since the receiver was told they fire), sorted. */
      readonly resolved: readonly string[];
      /** Every firing alert sent is acknowledged. */
      readonly acknowledged: boolean;
      readonly seq: number;
      readonly reason: FlushReason;
    }
  /** Nothing fires and the receiver has been told everything: the group can be forgotten. */
  | { readonly kind: 'done' };

const fingerprints = (alerts: readonly FlushAlert[]) => alerts.map((a) => a.fingerprint).sort();

export function decideFlush(input: FlushInput): FlushDecision {
  const { alerts, timers, last, now } = input;
  const lastFiring = new Set(last?.firing ?? []);
  const firing = alerts.filter((a) => a.status === 'firing' && !a.muted);
  const resolved = input.sendResolved === false ? [] : alerts.filter((a) => a.status === 'resolved' && lastFiring.has(a.fingerprint));
  const acknowledged = firing.length > 0 && firing.every((a) => a.acknowledged);
  const notify = (reason: FlushReason): FlushDecision => ({
    kind: 'notify',
    firing: fingerprints(firing),
    resolved: fingerprints(resolved),
    acknowledged,
    seq: (last?.seq ?? 0) + 1,
    reason,
  });

  if (firing.length === 0 && resolved.length === 0) {
    // Only muted alerts fire (wait for their mutes to change), or nothing fires and nothing is left to tell.
    return alerts.some((a) => a.status === 'firing') ? { kind: 'wait', until: null } : { kind: 'done' };
  }

  if (last === null) {
    // Alertmanager flushes a new group at once when an alert is already older than group_wait.
    const since = firing.reduce((min, a) => Math.min(min, a.startsAt), input.firstAlertAt);
    const due = since + timers.groupWaitMs;
    return now >= due ? notify('first') : { kind: 'wait', until: due };
  }

  const candidates: { due: number; reason: FlushReason }[] = [];
  const change = changeReason(firing, resolved, acknowledged, last);
  if (change) candidates.push({ due: last.at + timers.groupIntervalMs, reason: change });
  if (firing.length > 0 && !acknowledged) {
    // Repeats go out on group_interval ticks in Alertmanager, so never sooner than one.
    candidates.push({ due: last.at + Math.max(timers.repeatIntervalMs, timers.groupIntervalMs), reason: 'repeat' });
  }
  if (firing.length > 0 && input.refreshMs !== undefined && input.refreshMs > 0) {
    candidates.push({ due: last.at + input.refreshMs, reason: 'refresh' });
  }
  // In order of priority: a change, a repeat, a refresh.
  const dueNow = candidates.find((c) => now >= c.due);
  if (dueNow) return notify(dueNow.reason);
  return { kind: 'wait', until: candidates.length === 0 ? null : Math.min(...candidates.map((c) => c.due)) };
}

/** What changed since the last notification, as the reason to send it, or null. */
function changeReason(
  firing: readonly FlushAlert[],
  resolved: readonly FlushAlert[],
  acknowledged: boolean,
  last: NotificationLogEntry,
): FlushReason | null {
  const lastFiring = new Set(last.firing);
  // New to the receiver, or muted since it was told and unmuted now: both must be told.
  const fresh = firing.some((a) => !lastFiring.has(a.fingerprint) || (a.unmutedAt != null && a.unmutedAt > last.at));
  if (fresh) return 'changed';
  if (resolved.length > 0) return firing.length === 0 ? 'resolved' : 'changed';
  if (firing.length > 0 && acknowledged !== last.acknowledged) return acknowledged ? 'acknowledged' : 'changed';
  return null;
}

/** The log entry to record once a notify decision was delivered at `at`. */
export function logEntryOf(decision: Extract<FlushDecision, { kind: 'notify' }>, at: number): NotificationLogEntry {
  return { seq: decision.seq, at, firing: decision.firing, resolved: decision.resolved, acknowledged: decision.acknowledged };
}

/** When the dispatcher must look at these groups again: now if one notifies, the earliest wait, or null (only on changes). */
export function nextWakeUp(decisions: readonly FlushDecision[], now: number): number | null {
  let next: number | null = null;
  for (const d of decisions) {
    const at = d.kind === 'notify' ? now : d.kind === 'wait' ? d.until : null;
    if (at !== null && (next === null || at < next)) next = at;
  }
  return next;
}
