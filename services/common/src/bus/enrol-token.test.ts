import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../errors.ts';
import { enrolSecretDigest, formatEnrolToken, newEnrolSecret, parseEnrolToken } from './enrol-token.ts';

const jwt = 'eyJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJuYW1lIjoiZW5yb2wifQ.c2ln-_';

test('a token carries its secret and the enrolment JWT, and parses back', () => {
  const secret = newEnrolSecret();
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.deepEqual(parseEnrolToken(` ${formatEnrolToken(secret, jwt)}\n`), { secret, enrolJwt: jwt });
  assert.notEqual(enrolSecretDigest(secret), secret);
  assert.equal(enrolSecretDigest(secret), enrolSecretDigest(secret));
});

test('anything else is refused, naming the token', () => {
  for (const bad of ['', 'yxe1', `yxe2.${'a'.repeat(64)}.${jwt}`, `yxe1.${'a'.repeat(63)}.${jwt}`, `yxe1.${'a'.repeat(64)}.notajwt`]) {
    assert.throws(
      () => parseEnrolToken(bad),
      (e: unknown) => e instanceof ValidationError && e.field === 'token',
      bad,
    );
  }
});
