import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLOCK_MARGIN_MS,
  decideEnrolment,
  decideRenewal,
  type EnrolTokenDoc,
  revocationsInForce,
  revocationsToAdd,
} from './enrol-decision.ts';

const now = new Date('2026-01-01T12:00:00Z');
const token: EnrolTokenDoc = {
  _id: 'd',
  hostId: 'web-1',
  createdAt: new Date('2026-01-01T00:00:00Z'),
  expiresAt: new Date('2026-01-02T00:00:00Z'),
  createdBy: 'ops',
};

test('a token enrols the host it was made for, until it expires', () => {
  assert.deepEqual(decideEnrolment(token, { hostId: 'web-1' }, now), { ok: true });
  assert.deepEqual(decideEnrolment(null, { hostId: 'web-1' }, now), { ok: false, reason: 'unknown enrolment token' });
  assert.deepEqual(decideEnrolment(token, { hostId: 'web-2' }, now), { ok: false, reason: 'the token is for another host, not web-2' });
  const late = decideEnrolment(token, { hostId: 'web-1' }, token.expiresAt);
  assert.equal(late.ok, false);
});

test('revocations: only keys the account JWT lacks (or has from an earlier time) are added, in whole seconds', () => {
  const at = new Date('2026-01-01T12:00:00.250Z');
  assert.deepEqual(
    revocationsToAdd({ UA: 1767268801 }, [
      { userKey: 'UA', revokedAt: at },
      { userKey: 'UB', revokedAt: at },
    ]),
    { UB: 1767268801 },
  );
  assert.deepEqual(revocationsToAdd(undefined, [{ userKey: 'UA', revokedAt: at }]), { UA: 1767268801 });
  assert.deepEqual(revocationsToAdd({ UA: 5 }, [{ userKey: 'UA', revokedAt: at }]), { UA: 1767268801 });
});

test('a revocation is dropped only once every JWT it guards has expired (plus a margin); never without a lifetime', () => {
  const day = 24 * 3600_000;
  const revokedAt = new Date(now.getTime() - 40 * day);
  const r = revocationsInForce(
    [
      { userKey: 'UOLD', revokedAt, ttlMs: 30 * day },
      { userKey: 'URECENT', revokedAt: new Date(now.getTime() - 30 * day), ttlMs: 30 * day },
      { userKey: 'UFOREVER', revokedAt, ttlMs: null },
    ],
    now,
  );
  assert.deepEqual(r.prune, ['UOLD']);
  assert.deepEqual(
    r.keep.map((k) => k.userKey),
    ['URECENT', 'UFOREVER'],
  );
  assert.ok(CLOCK_MARGIN_MS > 0);
});

test('a host renews only its own credential on record, and not once it is revoked', () => {
  assert.deepEqual(decideRenewal({ hostId: 'web-1', revokedAt: null }, { hostId: 'web-1' }), { ok: true });
  assert.equal(decideRenewal({ hostId: 'web-2', revokedAt: null }, { hostId: 'web-1' }).ok, false);
  assert.equal(decideRenewal(null, { hostId: 'web-1' }).ok, false);
  assert.equal(decideRenewal({ hostId: 'web-1', revokedAt: now }, { hostId: 'web-1' }).ok, false);
});
