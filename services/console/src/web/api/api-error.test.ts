import assert from 'node:assert/strict';
import { test } from 'node:test';
import { YxError } from '@yixing/common/errors';
import { CATALOGS, keysOf } from '../i18n/catalogs.ts';
import { apiErrorOf, describeApiError, networkError } from './api-error.ts';

test("the API's error shape is read as sent", () => {
  const e = apiErrorOf(403, {
    error: { code: 'FORBIDDEN', message: 'alice is a viewer; POST /v1/plans needs operator', retryable: false },
  });
  assert.equal(e.status, 403);
  assert.ok(e instanceof YxError);
  assert.equal(e.httpStatus, 403);
  assert.equal(e.code, 'FORBIDDEN');
  assert.equal(e.message, 'alice is a viewer; POST /v1/plans needs operator');
  assert.deepEqual(describeApiError(e), { key: 'error.forbidden', values: { message: e.message, status: 403 } });
});

test('the fields a 400 names are kept: every one it lists, else its one field', () => {
  const listed = apiErrorOf(400, {
    error: {
      code: 'VALIDATION_FAILED',
      message: 'body.duration: "2x" is not a duration; body.comment: is required: say why',
      retryable: false,
      field: 'body.duration',
      reason: '"2x" is not a duration',
      problems: [
        { field: 'body.duration', reason: '"2x" is not a duration' },
        { field: 'body.comment', reason: 'is required: say why' },
        { nonsense: true },
      ],
    },
  });
  assert.deepEqual(listed.problems, [
    { field: 'body.duration', reason: '"2x" is not a duration' },
    { field: 'body.comment', reason: 'is required: say why' },
  ]);
  const one = apiErrorOf(400, {
    error: { code: 'VALIDATION_FAILED', message: 'm', retryable: false, field: 'query.limit', reason: 'too big' },
  });
  assert.deepEqual(one.problems, [{ field: 'query.limit', reason: 'too big' }]);
  assert.deepEqual(apiErrorOf(404, { error: { code: 'NOT_FOUND', message: 'm', retryable: false } }).problems, []);
});

test('a body not in the error shape (a proxy page, no body) still says the status', () => {
  const e = apiErrorOf(502, '<html>bad gateway</html>');
  assert.equal(e.code, 'HTTP_502');
  assert.equal(e.retryable, true);
  assert.equal(describeApiError(e).key, 'error.unavailable');
  assert.equal(describeApiError(apiErrorOf(418, null)).key, 'error.invalid');
});

test('each status class has its words; no answer is a network error', () => {
  const keyOf = (status: number) => describeApiError(apiErrorOf(status, null)).key;
  assert.equal(keyOf(401), 'error.unauthenticated');
  assert.equal(keyOf(404), 'error.notFound');
  assert.equal(keyOf(429), 'error.rateLimited');
  assert.equal(keyOf(503), 'error.unavailable');
  assert.equal(keyOf(500), 'error.internal');
  assert.equal(keyOf(302), 'error.other');
  assert.equal(describeApiError(networkError(new TypeError('Failed to fetch'))).key, 'error.network');
});

test('every key an error is worded with is in the catalogs', () => {
  const keys = new Set(keysOf(CATALOGS.en));
  for (const status of [0, 302, 400, 401, 403, 404, 409, 429, 500, 503]) {
    const err = status === 0 ? networkError('x') : apiErrorOf(status, null);
    assert.ok(keys.has(describeApiError(err).key), `${status}: ${describeApiError(err).key}`);
  }
});
