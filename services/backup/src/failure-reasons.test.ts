import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAILURE_REASONS, failureReason } from './failure-reasons.ts';

test('a failed backup’s reason text maps to one of a few labels, never its numbers', () => {
  assert.equal(failureReason('upload unreadable: ENOENT'), 'unreadable');
  assert.equal(failureReason('checksum: uploaded archive has SHA-256 ab, the agent declared cd'), 'checksum');
  assert.equal(failureReason('size: uploaded archive has 3 bytes, the agent declared 4'), 'size');
  assert.equal(failureReason('manifest: entry 3 has no path'), 'manifest');
  assert.equal(failureReason('stored copy: reads back with SHA-256 ab'), 'stored-copy');
  assert.equal(failureReason('corrupt: stored backup reads as SHA-256 ab, recorded cd'), 'corrupt');
  assert.equal(failureReason('upload not committed within 3600000 ms'), 'timeout');
  assert.equal(failureReason('anything else'), 'other');
  assert.ok(FAILURE_REASONS.includes(failureReason('')));
});
