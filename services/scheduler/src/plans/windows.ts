// Maintenance windows. A host starts only inside a window and not later than `cutoff`
// minutes before its end, so a migration does not spill far past the window. Hosts
// already in flight finish. Absolute windows ({start, end}) and weekly recurring ones
// ({days, from, to, timezone}) are both supported.

export interface AbsoluteWindow {
  start: string;
  end: string;
}

export interface RecurringWindow {
  /** Days the window opens on, in the window's time zone: mon … sun. */
  days: string[];
  /** Local times HH:MM; a `to` earlier than `from` ends the next day. */
  from: string;
  to: string;
  /** IANA time zone, e.g. Asia/Shanghai; UTC when absent. */
  timezone?: string;
}

export type MaintenanceWindow = AbsoluteWindow | RecurringWindow;

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/** Local weekday (0 = Sunday) and minute of day of an instant in a time zone. */
function localParts(at: number, timeZone: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(at));
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return {
    day: DAYS.indexOf(get('weekday').toLowerCase().slice(0, 3) as (typeof DAYS)[number]),
    minute: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

/** Milliseconds until the window containing `at` closes, or undefined if none contains it. */
export function timeLeftInWindow(w: MaintenanceWindow, at: number): number | undefined {
  if ('start' in w) {
    const start = Date.parse(w.start);
    const end = Date.parse(w.end);
    return at >= start && at < end ? end - at : undefined;
  }
  const { day, minute } = localParts(at, w.timezone ?? 'UTC');
  const from = minutesOf(w.from);
  const to = minutesOf(w.to);
  const opensOn = (d: number): boolean => w.days.includes(DAYS[(d + 7) % 7] as string);
  const secondsPart = at % 60_000;
  if (from < to) {
    if (opensOn(day) && minute >= from && minute < to) return (to - minute) * 60_000 - secondsPart;
    return undefined;
  }
  // Overnight window: open from `from` on an opening day until `to` the next day.
  if (opensOn(day) && minute >= from) return (24 * 60 - minute + to) * 60_000 - secondsPart;
  if (opensOn(day - 1) && minute < to) return (to - minute) * 60_000 - secondsPart;
  return undefined;
}

/** Whether a host may start now: inside a window and before its cut-off. No windows: always. */
export function mayStartAt(windows: MaintenanceWindow[], cutoffMinutes: number, at: number): boolean {
  if (windows.length === 0) return true;
  return windows.some((w) => {
    const left = timeLeftInWindow(w, at);
    return left !== undefined && left > cutoffMinutes * 60_000;
  });
}

/** A plan's hosts against its windows: whether some are in flight when no more may start. */
export interface WindowNotice {
  /** Hosts are in flight and no host may start now (past the cut-off, or outside every window). */
  warn: boolean;
  /** The event to publish when `warn` changed since `last` (null: not known, as after a start). */
  event?: { kind: 'window-closing' | 'window-clear'; message: string };
}

/**
 * Level-triggered warning for on-call: a plan with windows whose hosts are still in flight
 * past the cut-off (they may spill past the window) or after the window closed. `last` is
 * what was announced before; a scheduler that starts announces the level it finds.
 */
export function windowNotice(
  windows: MaintenanceWindow[],
  cutoffMinutes: number,
  inFlight: number,
  at: number,
  last: boolean | null,
): WindowNotice {
  if (windows.length === 0) return { warn: false };
  const left = windows.map((w) => timeLeftInWindow(w, at)).filter((t): t is number => t !== undefined);
  const warn = inFlight > 0 && !mayStartAt(windows, cutoffMinutes, at);
  if (warn === last) return { warn };
  if (!warn) return { warn, event: { kind: 'window-clear', message: inFlight > 0 ? 'inside a window again' : 'no host in flight' } };
  const message =
    left.length > 0
      ? `window closes at ${new Date(at + Math.max(...left)).toISOString()} with ${inFlight} hosts in flight`
      : `window closed with ${inFlight} hosts in flight`;
  return { warn, event: { kind: 'window-closing', message } };
}
