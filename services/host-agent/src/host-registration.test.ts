import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REGISTRATION_RETRY_CAP_MS, registrationRetryMs } from './host-registration.ts';

test('registration retries double from the base up to a minute, half of each wait random', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((a) => registrationRetryMs(a, 2_000, 0)),
    [1_000, 2_000, 4_000, 8_000],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((a) => registrationRetryMs(a, 2_000, 1)),
    [2_000, 4_000, 8_000, 16_000],
  );
  assert.equal(registrationRetryMs(10, 2_000, 1), REGISTRATION_RETRY_CAP_MS);
  assert.equal(registrationRetryMs(1e6, 2_000, 0.5), REGISTRATION_RETRY_CAP_MS * 0.75, 'no overflow after many attempts');
});
