import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupDoc } from './backup.model.ts';
import { BackupTally, countsOf } from './backup-tally.ts';

type Counted = Pick<BackupDoc, 'state' | 'storedBytes' | 'sizeBytes' | 'planId'>;
const doc = (state: BackupDoc['state'], planId = 'p', sizeBytes = 100, storedBytes = 0): Counted => ({
  state,
  planId,
  sizeBytes,
  storedBytes,
});

test('what a backup counts for: verified by its stored bytes, an upload by its declared size in its plan, the rest nothing', () => {
  assert.deepEqual(countsOf(doc('verified', 'p', 100, 120)), { stored: 120, planLive: 120 });
  assert.deepEqual(countsOf(doc('uploading', 'p', 100)), { stored: 0, planLive: 100 });
  for (const s of ['failed', 'deleted', 'expired'] as const) assert.deepEqual(countsOf(doc(s, 'p', 100, 120)), { stored: 0, planLive: 0 });
  assert.deepEqual(countsOf(undefined), { stored: 0, planLive: 0 });
});

test('a backup through its life moves the tallies and leaves nothing behind', () => {
  const t = new BackupTally();
  const uploading = doc('uploading', 'p', 100);
  t.changed(undefined, uploading);
  assert.deepEqual([t.storedBytes, t.planBytes('p')], [0, 100]);
  const verified = doc('verified', 'p', 100, 120);
  t.changed(uploading, verified);
  assert.deepEqual([t.storedBytes, t.planBytes('p')], [120, 120]);
  t.changed(verified, doc('expired', 'p', 100, 120));
  assert.deepEqual([t.storedBytes, t.planBytes('p')], [0, 0]);
  // A failed upload gives its reservation back; another plan is untouched.
  t.changed(undefined, doc('uploading', 'q', 50));
  t.changed(doc('uploading', 'q', 50), doc('failed', 'q', 50));
  assert.deepEqual([t.storedBytes, t.planBytes('q'), t.planBytes('p')], [0, 0, 0]);
});
