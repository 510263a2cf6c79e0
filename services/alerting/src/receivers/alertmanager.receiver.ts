// Forwarding to an existing Alertmanager through its API v2 (`POST /api/v2/alerts`, a list
// of postableAlerts). Alertmanager resolves an alert whose endsAt has passed, so a firing
// alert is sent with endsAt = send time + resolve_timeout and re-sent (refreshMs) before then;
// a resolved alert carries its real endsAt, which resolves it at once.
// API: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml (postableAlert)
import type { LabelSet, Notification } from '../model/alert.ts';
import { HttpReceiver } from './http-post.ts';
import type { Receiver } from './receiver.ts';
import { rfc3339 } from './webhook.receiver.ts';

export interface PostableAlert {
  labels: LabelSet;
  annotations: LabelSet;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/** Longer than Alertmanager's own 5 min: a quarter hour of Yixing down resolves nothing by mistake. */
export const DEFAULT_RESOLVE_TIMEOUT_MS = 15 * 60_000;

/**
 * `sentAt`: when the POST goes out. Firing alerts end a resolve timeout after it, not after
 * the flush: a notification delivered late (taken over after every replica was down past
 * the timeout) would otherwise arrive expired, and Alertmanager would resolve what fires.
 */
export function buildPostableAlerts(n: Notification, resolveTimeoutMs: number, sentAt = n.at): PostableAlert[] {
  const firingEndsAt = Math.max(n.at, sentAt) + resolveTimeoutMs;
  return n.alerts.map((a) => ({
    labels: a.labels,
    annotations: a.annotations,
    startsAt: rfc3339(a.startsAt),
    endsAt: rfc3339(a.status === 'firing' ? firingEndsAt : (a.endsAt ?? n.at)),
    generatorURL: a.link,
  }));
}

/** `<base>/api/v2/alerts`, whether the configured URL ends in a slash or not. */
export function alertmanagerAlertsUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/api/v2/alerts`;
}

export interface AlertmanagerReceiverConfig {
  /** The Alertmanager's base URL, e.g. http://alertmanager:9093. */
  url: string;
  resolveTimeoutMs: number;
  timeoutMs: number;
}

export class AlertmanagerReceiver extends HttpReceiver<AlertmanagerReceiverConfig> implements Receiver {
  readonly kind = 'alertmanager' as const;

  /** A third of the resolve timeout: two re-sends may fail before Alertmanager resolves on its own. */
  get refreshMs(): number {
    return Math.floor(this.config.resolveTimeoutMs / 3);
  }

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    const alerts = buildPostableAlerts(notification, this.config.resolveTimeoutMs, this.now());
    await this.post(alertmanagerAlertsUrl(this.config.url), alerts, signal);
  }
}
