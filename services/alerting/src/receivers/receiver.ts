// A receiver delivers notifications to one destination. It formats the notification in
// the destination's documented shape and sends it; the dispatcher owns retries, backoff,
// rate limits and the notification log, so a receiver makes one attempt per call.
import type { Notification } from '../model/alert.ts';

export type ReceiverKind = 'webhook' | 'alertmanager' | 'pagerduty' | 'email' | 'dingtalk' | 'wecom' | 'feishu';

export interface Receiver {
  /** The receiver's name in the configuration (`receivers[].name`) and its kind, for logs and metrics. */
  readonly name: string;
  readonly kind: ReceiverKind;
  /**
   * Set by receivers that forget a firing alert not re-sent in time (Alertmanager's API
   * resolves an alert when its endsAt passes): the dispatcher re-sends the group's
   * firing alerts at least this often, whatever the repeat interval.
   */
  readonly refreshMs?: number;
  /**
   * How long one attempt may take, from the receiver's configuration (`timeout`); unset:
   * the service's YX_ALERTING_ATTEMPT_TIMEOUT_MS. An attempt cut short may still have been
   * delivered, and is sent again: give slow destinations (mail) their time.
   */
  readonly timeoutMs?: number;
  /** Alertmanager's send_resolved: false when the destination is not told its alerts resolved (default true). */
  readonly sendResolved?: boolean;
  /**
   * One delivery attempt. Resolves when the destination accepted the notification;
   * rejects with a DeliveryError (errors.ts) saying whether to try again and, for a
   * 429 or 503 with Retry-After, when. `signal` aborts an attempt that takes too long.
   */
  send(notification: Notification, signal: AbortSignal): Promise<void>;
}
