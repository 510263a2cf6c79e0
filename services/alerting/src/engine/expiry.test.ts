import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expiryOf } from './expiry.ts';

const firing = { firedAt: 1_000, resolvedAt: 0, expiresAt: 5_000 };

test('a pushed alert not sent again resolves at its endsAt, once that has passed', () => {
  assert.equal(expiryOf(firing, 4_999), null);
  assert.equal(expiryOf(firing, 5_000), 5_000);
  assert.equal(expiryOf(firing, 60_000), 5_000, 'at its endsAt, not when it was noticed');
});

test('an alert of the rules (no endsAt) never expires', () => {
  assert.equal(expiryOf({ ...firing, expiresAt: 0 }, 60_000), null);
});

test('a resolved alert does not expire again', () => {
  assert.equal(expiryOf({ ...firing, resolvedAt: 2_000 }, 60_000), null);
  assert.equal(expiryOf({ ...firing, resolvedAt: 1_000 }, 60_000), null, 'a tie is resolved');
});

test('an alert fired again after its endsAt (by an event with the same labels) keeps firing', () => {
  assert.equal(expiryOf({ ...firing, firedAt: 5_000 }, 60_000), null);
  assert.equal(expiryOf({ ...firing, firedAt: 7_000 }, 60_000), null);
});
