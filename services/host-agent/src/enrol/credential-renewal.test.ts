import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renewalDueMs } from './credential-renewal.ts';

test('a credential is renewed two thirds into its life; one without an expiry never', () => {
  assert.equal(renewalDueMs(1_000, 1_300), 1_200_000);
  assert.equal(renewalDueMs(1_000, undefined), undefined);
});
