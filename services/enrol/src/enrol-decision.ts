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
