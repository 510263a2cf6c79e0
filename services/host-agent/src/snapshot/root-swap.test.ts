import assert from 'node:assert/strict';
import { test } from 'node:test';
import { besideRoot, swapActions } from './root-swap.ts';

test('the swap’s remaining actions follow from what is on disk', () => {
  assert.deepEqual(swapActions({ root: true, failed: false, reverted: false }), ['set-aside', 'put-in', 'remove-failed']);
  // Killed after the failed root was set aside.
  assert.deepEqual(swapActions({ root: false, failed: true, reverted: false }), ['put-in', 'remove-failed']);
  // Killed after the saved root was put in.
  assert.deepEqual(swapActions({ root: true, failed: true, reverted: true }), ['remove-failed']);
  assert.deepEqual(swapActions({ root: true, failed: false, reverted: true }), []);
  // A failed root left by an earlier rollback goes before this one's is set aside.
  assert.deepEqual(swapActions({ root: true, failed: true, reverted: false }), ['remove-failed', 'set-aside', 'put-in', 'remove-failed']);
  assert.deepEqual(swapActions({ root: false, failed: false, reverted: false }), ['put-in']);
});

test('a directory root’s snapshot is kept beside it', () => {
  assert.equal(besideRoot('/srv/roots/web1', 's1'), '/srv/roots/.yixing-snapshots/web1-s1');
});
