// From the alerts as stored to the groups the dispatcher decides about, purely: which
// alerts are muted (silenced or inhibited) and since when they are not, which routes each
// alert takes, and the (receiver, group) each lands in. Then, for a group the flush
// decision says to notify, the notification itself.
import type { FlushAlert } from '../engine/flush.ts';
import { type InhibitRule, inhibitionIndex } from '../engine/inhibition.ts';
import { groupKey, groupLabels, type Route, route } from '../engine/routing.ts';
import { lastSilenceEnd, type Silence, silencedBy } from '../engine/silences.ts';
import { type Alert, type AlertStatus, commonLabels, type LabelSet, type Notification, type NotifiedAlert } from '../model/alert.ts';

/** An alert as the dispatcher sees it: the alert and its state now. */
export interface AlertState {
  alert: Alert;
  status: AlertStatus;
  acknowledged: boolean;
}

export interface GroupedAlert extends FlushAlert {
  alert: Alert;
}

export interface Group {
  receiver: string;
  groupKey: string;
  route: Route;
  groupLabels: LabelSet;
  alerts: GroupedAlert[];
}

export interface GroupingInput {
  alerts: readonly AlertState[];
  tree: Route;
  /** Silences not long over (recently expired ones tell when an alert was unmuted). */
  silences: readonly Silence[];
  inhibitRules: readonly InhibitRule[];
  now: number;
}

/** Every (receiver, group) with its alerts, keyed `receiver|groupKey`. */
export function groupAlerts(input: GroupingInput): Map<string, Group> {
  const { alerts, tree, silences, inhibitRules, now } = input;
  const inhibitView = alerts.map((a) => ({ fingerprint: a.alert.fingerprint, labels: a.alert.labels, endsAt: a.alert.endsAt }));
  const inhibition = inhibitionIndex(inhibitView, inhibitRules);
  const groups = new Map<string, Group>();
  const byRouteValues = new Map<string, Group>();
  alerts.forEach((a, i) => {
    const view = inhibitView[i] as (typeof inhibitView)[number];
    const muted = a.status === 'firing' && (silencedBy(a.alert.labels, silences, now).length > 0 || inhibition.inhibitedBy(view) !== null);
    const ends = [lastSilenceEnd(a.alert.labels, silences, now), inhibition.lastEnd(view)].filter(
      (t): t is number => t !== null && t <= now,
    );
    const grouped: GroupedAlert = {
      alert: a.alert,
      fingerprint: a.alert.fingerprint,
      status: a.status,
      startsAt: a.alert.startsAt,
      endsAt: a.alert.endsAt,
      acknowledged: a.acknowledged,
      muted,
      unmutedAt: ends.length > 0 ? Math.max(...ends) : null,
    };
    for (const r of route(tree, a.alert.labels)) {
      // The group key's text is built once per group: the route and its group_by values find it.
      const cheap = r.groupByAll ? null : `${r.path.join('.')}\u0000${r.groupBy.map((n) => a.alert.labels[n] ?? '').join('\u0000')}`;
      let group = cheap === null ? undefined : byRouteValues.get(cheap);
      if (!group) {
        const key = groupKey(r, a.alert.labels);
        const id = `${r.receiver}|${key}`;
        group = groups.get(id);
        if (!group) {
          group = { receiver: r.receiver, groupKey: key, route: r, groupLabels: groupLabels(r, a.alert.labels), alerts: [] };
          groups.set(id, group);
        }
        if (cheap !== null) byRouteValues.set(cheap, group);
      }
      group.alerts.push(grouped);
    }
  });
  return groups;
}

export interface NotificationPlan {
  firing: readonly string[];
  resolved: readonly string[];
  acknowledged: boolean;
  seq: number;
}

/** The notification of `group` the flush decision asked for, made at `at`. */
export function notificationOf(group: Group, plan: NotificationPlan, externalUrl: string, at: number): Notification {
  const byFingerprint = new Map(group.alerts.map((a) => [a.fingerprint, a.alert]));
  const pick = (fps: readonly string[], status: AlertStatus): NotifiedAlert[] =>
    fps.flatMap((fp) => {
      const alert = byFingerprint.get(fp);
      return alert ? [{ ...alert, status }] : [];
    });
  const alerts = [...pick(plan.firing, 'firing'), ...pick(plan.resolved, 'resolved')];
  return {
    id: `${group.receiver}|${group.groupKey}|${plan.seq}`,
    receiver: group.receiver,
    groupKey: group.groupKey,
    status: plan.firing.length > 0 ? 'firing' : 'resolved',
    acknowledged: plan.acknowledged,
    groupLabels: group.groupLabels,
    commonLabels: commonLabels(alerts.map((a) => a.labels)),
    commonAnnotations: commonLabels(alerts.map((a) => a.annotations)),
    alerts,
    truncatedAlerts: 0,
    externalUrl,
    at,
  };
}
