import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideEnrolment, type EnrolTokenDoc, revocationsToAdd } from './enrol-decision.ts';

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
