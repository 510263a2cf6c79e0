// PagerDuty Events API v2: one incident per aggregation group (the dedup key is a hash of the
// receiver and the group key), triggered while the group fires, acknowledged when Yixing's
// alerts are, resolved when the group resolves. The way back is pagerduty-webhook.ts.
// Format: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ (and
// https://developer.pagerduty.com/docs/events-api-v2/acknowledge-events/, …/resolve-events/)
import { createHash } from 'node:crypto';
import type { Notification } from '../model/alert.ts';
import { HttpReceiver } from './http-post.ts';
import { cutUtf8, groupSubject, LOG_TAIL_MAX_BYTES, logTail, statusWord, worstSeverity } from './notification-markdown.ts';
import type { Receiver } from './receiver.ts';
import { type Locale, RECEIVER_TEXT } from './receiver-text.ts';
import { rfc3339 } from './webhook.receiver.ts';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';
export const PAGERDUTY_SEVERITIES: readonly PagerDutySeverity[] = ['critical', 'error', 'warning', 'info'];
export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

/** PagerDuty's limits: summary 1024 characters; the whole event 512 KB, kept far below by listing at most this many alerts. */
const SUMMARY_MAX_CHARS = 1024;
const DETAILED_ALERTS_MAX = 20;
const LINKS_MAX = 10;

export interface PagerDutyEvent {
  routing_key: string;
  event_action: PagerDutyAction;
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
  client?: string;
  client_url?: string;
}

/**
 * The incident's dedup key: stable for a receiver and a group, so every notification of the
 * group lands in the same incident, and short (PagerDuty takes 255 characters).
 */
export function pagerDutyDedupKey(receiver: string, groupKey: string): string {
  return `yx-${createHash('sha256').update(`${receiver}\n${groupKey}`).digest('hex').slice(0, 40)}`;
}

export function pagerDutyAction(n: Pick<Notification, 'status' | 'acknowledged'>): PagerDutyAction {
  if (n.status === 'resolved') return 'resolve';
  return n.acknowledged ? 'acknowledge' : 'trigger';
}

export interface PagerDutyEventOptions {
  routingKey: string;
  locale: Locale;
  /** Overrides the severity taken from the alerts. */
  severity?: PagerDutySeverity;
}

/** The event for a notification: trigger with the full payload; acknowledge and resolve name only the incident. */
export function buildPagerDutyEvent(n: Notification, opts: PagerDutyEventOptions): PagerDutyEvent {
  const event_action = pagerDutyAction(n);
  const base = { routing_key: opts.routingKey, event_action, dedup_key: pagerDutyDedupKey(n.receiver, n.groupKey) };
  if (event_action !== 'trigger') return base;
  const t = RECEIVER_TEXT[opts.locale];
  const firing = n.alerts.filter((a) => a.status === 'firing');
  const first = firing[0] ?? n.alerts[0];
  const head = t.title(statusWord(n, t), n.alerts.length + n.truncatedAlerts, groupSubject(n));
  const summary = first?.annotations.summary ? `${head}: ${first.annotations.summary}` : head;
  const c = n.commonLabels;
  const hosts = new Set(firing.map((a) => a.labels.host).filter(Boolean));
  return {
    ...base,
    payload: {
      summary: [...summary].slice(0, SUMMARY_MAX_CHARS).join(''),
      // The affected system: the host when the group is one host's, else the plan.
      source: c.host ?? (hosts.size === 1 ? [...hosts][0]! : c.plan ? `plan ${c.plan}` : 'yixing'),
      severity: opts.severity ?? worstSeverity(n.alerts) ?? 'error',
      timestamp: rfc3339(Math.min(...firing.map((a) => a.startsAt), n.at)),
      ...(c.step ? { component: c.step } : {}),
      ...(c.plan ? { group: c.plan } : {}),
      class: c.failure_code ?? c.alertname ?? 'alert',
      custom_details: {
        group_key: n.groupKey,
        firing: firing.length,
        resolved: n.alerts.length - firing.length,
        not_listed: Math.max(0, n.alerts.length - DETAILED_ALERTS_MAX) + n.truncatedAlerts,
        common_labels: c,
        alerts: n.alerts.slice(0, DETAILED_ALERTS_MAX).map((a) => ({
          status: a.status,
          host: a.labels.host,
          plan: a.labels.plan,
          wave: a.labels.wave,
          step: a.labels.step,
          failure_code: a.labels.failure_code,
          summary: a.annotations.summary,
          starts_at: rfc3339(a.startsAt),
          link: a.link,
          log_tail: a.annotations.log_tail ? logTail(a.annotations.log_tail, LOG_TAIL_MAX_BYTES) : undefined,
        })),
      },
    },
    links: n.alerts
      .filter((a) => a.link)
      .slice(0, LINKS_MAX)
      .map((a) => ({ href: a.link, text: cutUtf8(`${t.openStep}: ${a.labels.host ?? a.labels.alertname ?? a.fingerprint}`, 200) })),
    client: 'Yixing',
    client_url: n.externalUrl,
  };
}

export interface PagerDutyReceiverConfig extends PagerDutyEventOptions {
  /** Events API endpoint; default PAGERDUTY_EVENTS_URL. */
  url: string;
  timeoutMs: number;
}

/** 202 is accepted; 400 refused (bad event); 429 and 5xx tried again (http-post.ts). */
export class PagerDutyReceiver extends HttpReceiver<PagerDutyReceiverConfig> implements Receiver {
  readonly kind = 'pagerduty' as const;

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    await this.post(this.config.url, buildPagerDutyEvent(notification, this.config), signal);
  }
}
