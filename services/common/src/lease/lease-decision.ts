// What a replica does next about a leader lease, as a pure function of what it holds,
// what it last saw in the store and a monotonic clock. The store (a JetStream KV key) is
// the compare-and-swap; this decides when to use it:
//
// - a leader renews every `renewMs`, each renewal an update expecting the revision it wrote;
// - a leader that has not renewed for `renewDeadlineMs` stops acting, before any follower
//   may take over (a follower waits `ttlMs` > renewDeadlineMs after it last saw a change);
// - a follower takes over a key whose revision has not changed for `ttlMs` of its own
//   clock, expecting exactly that revision: a renewal in between makes the take-over fail.
//
// Time is only ever measured on one replica's own monotonic clock, never compared across
// replicas (the scheme Kubernetes' leader election uses).

export interface LeaseTimings {
  /** How long a follower waits, after it last saw the lease change, before it takes over. */
  ttlMs: number;
  /** How often the leader renews, and a follower looks. */
  renewMs: number;
  /** A leader that could not renew for this long stops acting (< ttlMs). */
  renewDeadlineMs: number;
}

/** Kubernetes' defaults, scaled to a take-over "within seconds": 10 s, renewed every 2 s, given up after 8 s. */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { ttlMs: 10_000, renewMs: 2_000, renewDeadlineMs: 8_000 };

/** The lease's value in the store. */
export interface LeaseRecord {
  /** The process holding it (unique per process). */
  holder: string;
  /**
   * The replica it runs as (stable across restarts): a replica restarted after a crash
   * takes its own lease back at once instead of waiting out the time-to-live. Safe even
   * if the old process still lives: its writes are fenced by the new epoch.
   */
  replica?: string;
  /** The fencing token: grows with every change of holder, never with a renewal. */
  epoch: number;
  /** Where the holder serves its API: followers send writers there. */
  url: string;
}

/** The lease this replica holds. */
export interface HeldLease {
  epoch: number;
  /** The revision of the key this replica last wrote. */
  revision: number;
  /** When (monotonic ms) the last successful write was started. */
  renewedAt: number;
}

/** The key as this replica last read it. */
export interface SeenLease {
  /** 0: the key is absent (never written, or deleted by a leader that stopped). */
  revision: number;
  record: LeaseRecord | null;
  /** When (monotonic ms) this replica first saw this revision. */
  since: number;
}

export type LeaseStep =
  | { kind: 'renew'; expected: number }
  | { kind: 'step-down' }
  | { kind: 'acquire'; expected: number; epoch: number }
  | { kind: 'wait'; ms: number };

/** The epoch of a new holder: above the last one, and above any earlier one even if the bucket was lost (wall-clock floor). */
export function nextEpoch(previous: number | undefined, wallMs: number): number {
  return Math.max((previous ?? 0) + 1, Math.floor(wallMs));
}

/** True while the lease this replica holds is still its to act on. */
export function holds(held: HeldLease | null, now: number, t: LeaseTimings): boolean {
  return held !== null && now - held.renewedAt < t.renewDeadlineMs;
}

export function nextLeaseStep(
  state: { held: HeldLease | null; seen: SeenLease | null },
  now: number,
  wallMs: number,
  t: LeaseTimings,
  replica = '',
): LeaseStep {
  const { held, seen } = state;
  if (held) {
    if (!holds(held, now, t)) return { kind: 'step-down' };
    const due = held.renewedAt + t.renewMs - now;
    return due <= 0 ? { kind: 'renew', expected: held.revision } : { kind: 'wait', ms: due };
  }
  if (!seen) return { kind: 'wait', ms: 0 };
  if (seen.revision === 0) return { kind: 'acquire', expected: 0, epoch: nextEpoch(undefined, wallMs) };
  if (replica !== '' && seen.record?.replica === replica)
    return { kind: 'acquire', expected: seen.revision, epoch: nextEpoch(seen.record.epoch, wallMs) };
  const left = seen.since + t.ttlMs - now;
  if (left > 0) return { kind: 'wait', ms: Math.min(left, t.renewMs) };
  return { kind: 'acquire', expected: seen.revision, epoch: nextEpoch(seen.record?.epoch, wallMs) };
}

/** What a replica remembers of a read: `since` restarts only when the revision changed. */
export function observe(prev: SeenLease | null, revision: number, record: LeaseRecord | null, now: number): SeenLease {
  if (prev && prev.revision === revision) return prev;
  return { revision, record, since: now };
}

/** Checks timings: a leader must stop acting before a follower may take over. */
export function timingProblems(t: LeaseTimings): string[] {
  const out: string[] = [];
  if (!(t.renewMs > 0)) out.push('renewMs must be positive');
  if (!(t.renewDeadlineMs > t.renewMs)) out.push('renewDeadlineMs must exceed renewMs (a leader renews more than once before it gives up)');
  if (!(t.ttlMs > t.renewDeadlineMs)) out.push('ttlMs must exceed renewDeadlineMs (a leader stops before a follower may take over)');
  return out;
}
