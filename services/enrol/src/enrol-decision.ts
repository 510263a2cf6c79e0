// Whether a token may enrol a host: pure, from the stored token and the request. That a
// token is used once only is the store's insert keyed by the token (a compare-and-swap
// even on FerretDB v1), not a decision here.

export interface EnrolTokenDoc {
  /** SHA-256 of the secret (enrolSecretDigest). */
  _id: string;
  hostId: string;
  createdAt: Date;
  expiresAt: Date;
  createdBy: string;
}

export type EnrolDecision = { ok: true } | { ok: false; reason: string };

export function decideEnrolment(token: EnrolTokenDoc | null, req: { hostId: string }, now: Date): EnrolDecision {
  if (!token) return { ok: false, reason: 'unknown enrolment token' };
  if (token.hostId !== req.hostId) return { ok: false, reason: `the token is for another host, not ${req.hostId}` };
  if (token.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: `the token expired at ${token.expiresAt.toISOString()}` };
  return { ok: true };
}

/** The revocation list an account JWT needs: each revoked key, revoked from its time on (seconds). */
export function revocationsToAdd(
  current: Record<string, number> | undefined,
  revoked: { userKey: string; revokedAt: Date }[],
): Record<string, number> {
  const add: Record<string, number> = {};
  for (const r of revoked) {
    // A JWT issued at or before this second is refused; the server compares seconds.
    const at = Math.ceil(r.revokedAt.getTime() / 1000);
    if ((current?.[r.userKey] ?? 0) < at) add[r.userKey] = at;
  }
  return add;
}

/** A revoked credential, with the lifetime its JWTs were issued with (null: they never expire). */
export interface RevokedCredential {
  userKey: string;
  revokedAt: Date;
  ttlMs: number | null;
}

/** A day's margin for clocks that disagree between this service and the servers. */
export const CLOCK_MARGIN_MS = 24 * 3600_000;

/**
 * Which revocations the account JWT still needs. No JWT is issued for a credential after
 * its revocation, and each expires at most its lifetime after it was issued: once that
 * (and a margin) has passed, the entry guards nothing and is dropped, which keeps the
 * account JWT (about 11,000 entries at most) from filling up over the years.
 */
export function revocationsInForce(
  revoked: RevokedCredential[],
  now: Date,
  marginMs = CLOCK_MARGIN_MS,
): { keep: RevokedCredential[]; prune: string[] } {
  const keep: RevokedCredential[] = [];
  const prune: string[] = [];
  for (const r of revoked) {
    if (r.ttlMs !== null && r.revokedAt.getTime() + r.ttlMs + marginMs < now.getTime()) prune.push(r.userKey);
    else keep.push(r);
  }
  return { keep, prune };
}

/** Whether a credential on record may be renewed by this host. */
export function decideRenewal(enrolment: { hostId: string; revokedAt: Date | null } | null, req: { hostId: string }): EnrolDecision {
  if (!enrolment || enrolment.hostId !== req.hostId) return { ok: false, reason: `no credential of ${req.hostId} with this key on record` };
  if (enrolment.revokedAt) return { ok: false, reason: `the credential was revoked at ${enrolment.revokedAt.toISOString()}` };
  return { ok: true };
}
