import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admitEpoch } from './leader-epoch.ts';

test('a command of the leading epoch or a later one is accepted; a later one raises what is seen', () => {
  assert.deepEqual(admitEpoch(0, 0), { accept: true, seen: 0, raised: false });
  assert.deepEqual(admitEpoch(5, 5), { accept: true, seen: 5, raised: false });
  assert.deepEqual(admitEpoch(5, 9), { accept: true, seen: 9, raised: true });
});

test('a command from a lower epoch (a deposed leader) is refused and changes nothing', () => {
  const v = admitEpoch(9, 5);
  assert.equal(v.accept, false);
  assert.equal(v.seen, 9);
  assert.match(v.accept ? '' : v.reason, /deposed/);
});
