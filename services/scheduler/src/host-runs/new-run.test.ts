import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idPatterns } from '@yixing/common';
import { newRunId } from './new-run.ts';

test('run ids fit the bus pattern and do not repeat across many pool refills', () => {
  const ids = Array.from({ length: 20_000 }, newRunId);
  const pattern = new RegExp(idPatterns.runId);
  for (const id of ids) {
    assert.match(id, /^r[a-z0-9]{16}$/);
    assert.match(id, pattern);
  }
  assert.equal(new Set(ids).size, ids.length);
  // Every character of the alphabet turns up: the pool's bytes are used, not a fixed stretch.
  assert.equal(new Set(ids.join('').slice(1)).size, 36);
});
