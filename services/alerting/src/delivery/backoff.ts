// When to try a failed delivery again: exponential backoff with full jitter (AWS's
// "Exponential Backoff and Jitter": a random wait between 0 and the capped exponential, so
// retries of many notifications spread out instead of arriving together), never sooner than
// the destination's Retry-After, and never for an error that says trying again will not help.

export interface RetryPolicy {
  /** The first retry waits up to this long; each further one up to twice the one before. */
  baseMs: number;
  /** No wait (before Retry-After) is longer than this. */
  maxMs: number;
  /** Give up after this many attempts; Infinity: until delivered or superseded. */
  maxAttempts: number;
  /** A Retry-After longer than this is cut to it: a destination must not park alerts for a day. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  baseMs: 1_000,
  maxMs: 5 * 60_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  maxRetryAfterMs: 60 * 60_000,
};

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'not-retryable' | 'attempts-exhausted' };

/**
 * After `attempt` failed attempts (1 after the first), whether and when to try again.
 * `error` is what the last attempt threw: a DeliveryError (or any error) with
 * `retryable: false` ends the retries; one with `retryAfterMs` waits at least that long.
 * An error that says nothing either way (a receiver's bug) is retried: losing an alert is
 * worse than a capped retry. `random` gives [0, 1).
 */
export function nextDelay(attempt: number, error: unknown, policy: RetryPolicy, random: () => number): RetryDecision {
  const e = typeof error === 'object' && error !== null ? (error as { retryable?: unknown; retryAfterMs?: unknown }) : {};
  if (e.retryable === false) return { retry: false, reason: 'not-retryable' };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'attempts-exhausted' };
  // 2 ** 1030 is Infinity; the cap makes it finite again.
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  const retryAfter =
    typeof e.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs) && e.retryAfterMs > 0
      ? Math.min(e.retryAfterMs, policy.maxRetryAfterMs)
      : 0;
  return { retry: true, delayMs: Math.max(jittered, Math.ceil(retryAfter)) };
}
