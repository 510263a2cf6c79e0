import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertOffers, expireOffer, newSilenceOffer } from './alert-offers.ts';

const firing = { status: 'firing' as const, acknowledged: false };

test('an operator or admin may acknowledge and silence a firing alert', () => {
  for (const role of ['operator', 'admin'] as const) {
    assert.deepEqual(alertOffers(firing, role), { ack: { allowed: true }, silence: { allowed: true } });
  }
});

test('a viewer may do neither, and is told it is the role; before whoami answers, that it is signing in', () => {
  assert.deepEqual(alertOffers(firing, 'viewer'), { ack: { allowed: false, why: 'role' }, silence: { allowed: false, why: 'role' } });
  assert.deepEqual(alertOffers(firing, null).ack, { allowed: false, why: 'signingIn' });
  assert.deepEqual(newSilenceOffer('viewer'), { allowed: false, why: 'role' });
  assert.deepEqual(expireOffer({ state: 'active' }, 'viewer'), { allowed: false, why: 'role' });
});

test('an acknowledged or resolved alert is not acknowledged again, but can be silenced', () => {
  assert.deepEqual(alertOffers({ status: 'firing', acknowledged: true }, 'operator'), {
    ack: { allowed: false, why: 'acknowledged' },
    silence: { allowed: true },
  });
  assert.deepEqual(alertOffers({ status: 'resolved', acknowledged: false }, 'operator').ack, { allowed: false, why: 'resolved' });
});

test('an active or pending silence can be expired; an expired one cannot', () => {
  assert.deepEqual(expireOffer({ state: 'active' }, 'operator'), { allowed: true });
  assert.deepEqual(expireOffer({ state: 'pending' }, 'admin'), { allowed: true });
  assert.deepEqual(expireOffer({ state: 'expired' }, 'operator'), { allowed: false, why: 'expired' });
});
