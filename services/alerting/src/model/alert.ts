// What the alerting service works with, in Alertmanager's terms: an alert is a set of
// labels (its identity, hashed into the fingerprint) with annotations (what a human reads),
// a start and, once resolved, an end. Notifications carry groups of them to receivers.

export type Severity = 'critical' | 'warning' | 'info';

export type LabelSet = Readonly<Record<string, string>>;

export interface Alert {
  /** Stable identity: a hash of the labels (fingerprint.ts). */
  fingerprint: string;
  /**
   * Identity and routing: `alertname`, `severity`, and where it happened: `plan`, `wave`,
   * `host`, `step`, `failure_code`, `cluster`, `zone`, `rack` (those that apply).
   */
  labels: LabelSet;
  /** For people: `summary`, `description`, `log_tail` (the last lines of the step's log), `run`. */
  annotations: LabelSet;
  /** Epoch ms the alert started firing. */
  startsAt: number;
  /** Epoch ms it resolved; null while it fires. */
  endsAt: number | null;
  /** The failed step (and its log) in the console: `${YX_CONSOLE_URL}/plans/<plan>/hosts/<host>/steps/<step>`. */
  link: string;
  /** The span that last fired it (W3C `traceparent`, in its run's trace): its deliveries link to it. */
  traceparent?: string;
}

export type AlertStatus = 'firing' | 'resolved';

/** An alert as one notification carries it: its status at the time of the notification. */
export interface NotifiedAlert extends Alert {
  status: AlertStatus;
}

/**
 * One notification of one aggregation group to one receiver, the unit every receiver
 * formats (Alertmanager's webhook v4 payload is a direct rendering of it).
 */
export interface Notification {
  /**
   * Unique per integration, group and flush: `<receiver>/<integration index>|<groupKey>|<seq>`;
   * receivers that take an idempotency key get it.
   */
  id: string;
  receiver: string;
  /** Alertmanager's group key: the route path and the group labels, e.g. `{}/{severity="critical"}:{plan="p1"}`. */
  groupKey: string;
  /** firing when at least one alert fires. */
  status: AlertStatus;
  /**
   * Every firing alert of the group is acknowledged (in Yixing or, flowed back, by the
   * pager): receivers with an acknowledge action (PagerDuty) send it instead of a trigger.
   */
  acknowledged: boolean;
  groupLabels: LabelSet;
  commonLabels: LabelSet;
  commonAnnotations: LabelSet;
  alerts: NotifiedAlert[];
  /** How many alerts of the group were left out to keep the message within the receiver's limits. */
  truncatedAlerts: number;
  /** The console's base URL (YX_CONSOLE_URL). */
  externalUrl: string;
  /** Epoch ms of the flush that made it. */
  at: number;
}

/** The labels (or annotations) every set has with the same value: Alertmanager's commonLabels / commonAnnotations. */
export function commonLabels(sets: readonly LabelSet[]): LabelSet {
  const [first, ...rest] = sets;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((s) => s[k] === v)));
}
