import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unchangedSince } from './reassessment.ts';

test('a host is assessed again unless its digest equals the one its last assessment read', () => {
  const last = { planId: 'p-1', factsDigest: 'sha256:aa', at: new Date('2026-12-01T00:00:00Z') };
  assert.equal(unchangedSince('sha256:aa', last), 'facts unchanged since its assessment in plan p-1 (2026-12-01T00:00:00.000Z)');
  assert.equal(unchangedSince('sha256:bb', last), undefined, 'changed facts');
  assert.equal(unchangedSince('sha256:aa', undefined), undefined, 'never assessed');
  assert.equal(unchangedSince('', { ...last, factsDigest: '' }), undefined, 'an agent that reports no digest is always assessed');
  assert.equal(unchangedSince(undefined, last), undefined);
});
