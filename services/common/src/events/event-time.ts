// Times that arrive in bus messages are the sender's word. Whatever depends on them (a
// step's deadline, a backup's retention clock) takes them clamped to what the receiver
// knows: never before the thing they are about began, never after now plus a small skew
// for clocks that disagree. A forged `atMs: 1` then cannot expire a live run's backups.

/** Clocks of hosts and services may disagree by this much (NTP keeps them far closer). */
export const EVENT_CLOCK_SKEW_MS = 60_000;

/**
 * `atMs` within [notBefore, now + skewMs]; `now` when absent (0) or not a finite number.
 * With `notBefore` after the upper bound (a clock far ahead), the upper bound wins.
 */
export function clampEventTime(atMs: number, bounds: { notBefore: number; now: number; skewMs?: number }): number {
  const latest = bounds.now + (bounds.skewMs ?? EVENT_CLOCK_SKEW_MS);
  if (!Number.isFinite(atMs) || atMs <= 0) return Math.min(Math.max(bounds.now, bounds.notBefore), latest);
  return Math.min(Math.max(atMs, bounds.notBefore), latest);
}
