import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineTime } from './log-reader.ts';

test('a line time no date can hold is no time, not an error', () => {
  assert.equal(lineTime(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00.000Z');
  for (const bad of [1e300, -1e300, Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) assert.equal(lineTime(bad), null, String(bad));
});
