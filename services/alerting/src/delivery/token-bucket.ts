// A receiver's rate limit as a token bucket: `burst` tokens, refilled at `perMinute` a
// minute; each attempt takes one. Pure: the state is a value and the time is given.

export interface RateLimit {
  /** Messages a minute the destination allows (the DingTalk and WeCom robots: 20). */
  perMinute: number;
  /** Messages that may go at once after a quiet spell; default perMinute. */
  burst?: number;
}

export interface Bucket {
  tokens: number;
  /** Epoch ms `tokens` was counted at. */
  at: number;
}

const EPSILON = 1e-9;

const capacity = (limit: RateLimit): number => limit.burst ?? limit.perMinute;

/** A full bucket at `now`. */
export const fullBucket = (limit: RateLimit, now: number): Bucket => ({ tokens: capacity(limit), at: now });

/**
 * Takes one token at `now` when there is one (`waitMs` 0), else says how long until there
 * is (`waitMs` > 0, the bucket unchanged but for the refill).
 */
export function takeToken(bucket: Bucket, limit: RateLimit, now: number): { bucket: Bucket; waitMs: number } {
  const perMs = limit.perMinute / 60_000;
  // A clock that went back refills nothing rather than draining the bucket.
  const tokens = Math.min(capacity(limit), bucket.tokens + Math.max(0, now - bucket.at) * perMs);
  // EPSILON: a third of a token plus two thirds is a whole one, whatever the float rounding.
  if (tokens >= 1 - EPSILON) return { bucket: { tokens: Math.max(0, tokens - 1), at: now }, waitMs: 0 };
  return { bucket: { tokens, at: now }, waitMs: Math.ceil((1 - tokens) / perMs - EPSILON) };
}

/** Problems with a configured rate limit, each naming its key under `path`. */
export function checkRateLimit(raw: unknown, path: string): { limit?: RateLimit; problems: string[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problems: [`${path}: must be an object with per_minute`] };
  const r = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(r))
    if (key !== 'per_minute' && key !== 'burst') problems.push(`${path}.${key}: unknown key (known: per_minute, burst)`);
  const positive = (key: string): number | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) problems.push(`${path}.${key}: must be a number above 0`);
    else if (key === 'burst' && !Number.isInteger(v)) problems.push(`${path}.burst: must be a whole number`);
    else return v;
    return undefined;
  };
  const perMinute = positive('per_minute');
  const burst = positive('burst');
  if (r.per_minute === undefined) problems.push(`${path}.per_minute: is required`);
  if (problems.length > 0 || perMinute === undefined) return { problems };
  return { limit: burst === undefined ? { perMinute } : { perMinute, burst }, problems };
}
