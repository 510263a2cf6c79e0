// The generic webhook: Alertmanager's webhook payload, version 4, so that anything written
// for Alertmanager's webhook_config takes Yixing's notifications unchanged.
// Format: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
import { commonLabels, type LabelSet, type Notification } from '../model/alert.ts';
import { HttpReceiver } from './http-post.ts';
import type { Receiver } from './receiver.ts';

/** Go's zero time, which Alertmanager sends as endsAt while an alert fires. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface WebhookAlertV4 {
  status: 'firing' | 'resolved';
  labels: LabelSet;
  annotations: LabelSet;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookPayloadV4 {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: LabelSet;
  commonLabels: LabelSet;
  commonAnnotations: LabelSet;
  externalURL: string;
  alerts: WebhookAlertV4[];
}

export const rfc3339 = (ms: number): string => new Date(ms).toISOString();

/**
 * The v4 payload; `maxAlerts` > 0 keeps the first that many alerts (the firing ones come
 * first) and counts the rest in truncatedAlerts. As Alertmanager's, the status and the
 * common labels and annotations then describe the alerts kept, not the whole group.
 */
export function buildWebhookPayload(n: Notification, maxAlerts = 0): WebhookPayloadV4 {
  const truncated = maxAlerts > 0 && n.alerts.length > maxAlerts;
  const kept = truncated ? n.alerts.slice(0, maxAlerts) : n.alerts;
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.truncatedAlerts + (n.alerts.length - kept.length),
    status: truncated ? (kept.some((a) => a.status === 'firing') ? 'firing' : 'resolved') : n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: truncated ? commonLabels(kept.map((a) => a.labels)) : n.commonLabels,
    commonAnnotations: truncated ? commonLabels(kept.map((a) => a.annotations)) : n.commonAnnotations,
    externalURL: n.externalUrl,
    alerts: kept.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: rfc3339(a.startsAt),
      endsAt: a.endsAt === null ? ZERO_TIME : rfc3339(a.endsAt),
      generatorURL: a.link,
      fingerprint: a.fingerprint,
    })),
  };
}

/** The header carrying notification.id, so that a receiver can drop a repeat of one it already took. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

export interface WebhookReceiverConfig {
  url: string;
  /** 0: no limit. */
  maxAlerts: number;
  httpHeaders: Readonly<Record<string, string>>;
  timeoutMs: number;
}

export class WebhookReceiver extends HttpReceiver<WebhookReceiverConfig> implements Receiver {
  readonly kind = 'webhook' as const;

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    const body = buildWebhookPayload(notification, this.config.maxAlerts);
    await this.post(this.config.url, body, signal, { ...this.config.httpHeaders, [IDEMPOTENCY_HEADER]: notification.id });
  }
}
