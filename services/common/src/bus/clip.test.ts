import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clip, maxLen } from './clip.ts';
import { encode } from './codec.ts';

test('clip cuts to the max_len declared in proto/ and keeps short text as is', () => {
  assert.equal(maxLen('planEvent', 'message'), 4096);
  assert.equal(clip('planEvent', 'message', 'x'.repeat(5000)).length, 4096);
  assert.equal(clip('backupEvent', 'reason', 'short'), 'short');
});

test('clipped text passes the codec, unclipped text is refused', () => {
  const init = { eventId: 'e', planId: 'p', kind: 'paused' };
  const long = 'y'.repeat(maxLen('planEvent', 'message') + 1);
  assert.throws(() => encode('planEvent', { ...init, message: long }), /at most 4096 allowed/);
  encode('planEvent', { ...init, message: clip('planEvent', 'message', long) });
});

test('clip never leaves half of a surrogate pair', () => {
  const text = `${'a'.repeat(maxLen('backupEvent', 'reason') - 1)}😀tail`;
  const clipped = clip('backupEvent', 'reason', text);
  assert.equal(clipped, 'a'.repeat(maxLen('backupEvent', 'reason') - 1));
});
