// The alerting service's Prometheus metrics, on the service's own registry: what fires
// now, what each receiver was sent and how it went, how long a flush took to arrive, and
// what the bus brought. The fleet dashboard (dashboards/yixing-fleet.json) queries them.
import { Counter, Gauge, Histogram, type Registry } from '@yixing/common';
import type { LabelSet } from './model/alert.ts';

/** How one notification attempt ended: delivered, to be tried again, given up, or replaced by a newer one. */
export type NotificationResult = 'delivered' | 'retried' | 'failed' | 'superseded';
/** What a notification said: the group fires, is acknowledged, or resolved. */
export type NotificationKind = 'firing' | 'acknowledged' | 'resolved';
export type EventSource = 'hostrun' | 'plan' | 'backup' | 'control' | 'pushed';
export type EventOutcome = 'applied' | 'ignored' | 'invalid';

export interface AlertingMetrics {
  firing: Gauge<'severity' | 'alertname'>;
  notifications: Counter<'receiver' | 'kind' | 'result'>;
  deliverySeconds: Histogram<'receiver' | 'kind'>;
  events: Counter<'source' | 'outcome'>;
  /** Sets yx_alerts_firing to the count of `firing` per severity and alertname (the rest to 0). */
  showFiring(firing: Iterable<{ labels: LabelSet }>): void;
}

/** The firing alerts counted per severity and alertname (labels absent count as ''). */
export function firingCounts(firing: Iterable<{ labels: LabelSet }>): Map<string, { severity: string; alertname: string; count: number }> {
  const out = new Map<string, { severity: string; alertname: string; count: number }>();
  for (const { labels } of firing) {
    const severity = labels.severity ?? '';
    const alertname = labels.alertname ?? '';
    const key = JSON.stringify([severity, alertname]);
    const seen = out.get(key);
    if (seen) seen.count++;
    else out.set(key, { severity, alertname, count: 1 });
  }
  return out;
}

export function alertingMetrics(registry: Registry): AlertingMetrics {
  const firing = new Gauge({
    name: 'yx_alerts_firing',
    help: 'Alerts firing now (acknowledged or not, silenced or not), by severity and alert name',
    labelNames: ['severity', 'alertname'],
    registers: [registry],
  });
  const shown = new Map<string, { severity: string; alertname: string }>();
  return {
    firing,
    notifications: new Counter({
      name: 'yx_alert_notifications_total',
      help: 'Notification attempts to receivers, by receiver, kind (firing, acknowledged, resolved) and result (delivered, retried, failed, superseded)',
      labelNames: ['receiver', 'kind', 'result'],
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'yx_alert_delivery_seconds',
      help: 'From the flush that made a notification to its delivery, retries included',
      labelNames: ['receiver', 'kind'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    events: new Counter({
      name: 'yx_alert_events_total',
      help: 'Bus events read by the rules and alerts pushed to POST /api/v2/alerts, by source (hostrun, plan, backup, control, pushed) and outcome (applied, ignored, invalid)',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    showFiring(alerts) {
      const now = firingCounts(alerts);
      // A series whose alerts all resolved reads 0 (not its last count, and not absent: a graph shows the drop).
      for (const [key, labels] of shown) if (!now.has(key)) firing.set(labels, 0);
      for (const [key, { severity, alertname, count }] of now) {
        firing.set({ severity, alertname }, count);
        shown.set(key, { severity, alertname });
      }
    },
  };
}
