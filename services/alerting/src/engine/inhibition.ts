// Alertmanager's inhibition: a firing alert matching a rule's source matchers mutes the
// alerts matching its target matchers that have the same values for the rule's `equal`
// labels (a label missing on both sides counts as equal, as in Alertmanager). An alert
// never inhibits itself, and when an alert matches both sides of a rule only sources that
// are not themselves targets may mute it, so two alerts cannot mute each other.
import type { Alert } from '../model/alert.ts';
import { type Matcher, matches } from './matchers.ts';

export interface InhibitRule {
  readonly sourceMatchers: readonly Matcher[];
  readonly targetMatchers: readonly Matcher[];
  /** Labels whose values must be equal on source and target. */
  readonly equal: readonly string[];
}

export type InhibitAlert = Pick<Alert, 'fingerprint' | 'labels' | 'endsAt'>;

function inhibits(rule: InhibitRule, source: InhibitAlert, target: InhibitAlert): boolean {
  if (source.fingerprint === target.fingerprint) return false;
  if (!matches(rule.targetMatchers, target.labels) || !matches(rule.sourceMatchers, source.labels)) return false;
  if (matches(rule.sourceMatchers, target.labels) && matches(rule.targetMatchers, source.labels)) return false;
  return rule.equal.every((name) => (source.labels[name] ?? '') === (target.labels[name] ?? ''));
}

function smallest(fingerprints: readonly string[]): string | null {
  return [...fingerprints].sort()[0] ?? null;
}

/**
 * The fingerprint of a firing alert that inhibits `alert` (the smallest, when several do,
 * so the answer is stable), or null. Alerts with an endsAt (resolved) never inhibit.
 */
export function inhibited(alert: InhibitAlert, firingAlerts: readonly InhibitAlert[], rules: readonly InhibitRule[]): string | null {
  const by = firingAlerts.filter((source) => source.endsAt === null && rules.some((rule) => inhibits(rule, source, alert)));
  return smallest(by.map((source) => source.fingerprint));
}

/**
 * When the last inhibition of `alert` ended: the latest endsAt of the resolved alerts
 * that inhibited it, or null. With silences' lastSilenceEnd, it gives flush's `unmutedAt`.
 */
export function lastInhibitionEnd(alert: InhibitAlert, alerts: readonly InhibitAlert[], rules: readonly InhibitRule[]): number | null {
  let last: number | null = null;
  for (const source of alerts) {
    if (source.endsAt === null || !rules.some((rule) => inhibits(rule, source, alert))) continue;
    if (last === null || source.endsAt > last) last = source.endsAt;
  }
  return last;
}
