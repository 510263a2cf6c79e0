// When a pushed alert (Alertmanager's API v2, from Prometheus) resolves on its own: it
// fires until its endsAt unless sent again, and Prometheus sends it again every resend
// interval while its rule fires; an alert nobody re-sends (its Prometheus is gone, or
// the rule was removed) therefore resolves at its endsAt, as in Alertmanager.

export interface ExpiringAlert {
  /** Epoch ms of its latest fire and latest resolve. */
  firedAt: number;
  resolvedAt: number;
  /** Epoch ms it resolves unless fired again; 0: never (the rules' alerts resolve on an event). */
  expiresAt: number;
}

/**
 * The time to resolve the alert at, if it expired by `now`; null if it does not fire, never
 * expires, has not expired yet, or was fired after its expiry by something else (an event
 * of the rules with the same labels), which keeps it firing.
 */
export function expiryOf(a: ExpiringAlert, now: number): number | null {
  if (a.expiresAt <= 0 || a.firedAt <= a.resolvedAt) return null;
  if (now < a.expiresAt || a.firedAt >= a.expiresAt) return null;
  return a.expiresAt;
}
