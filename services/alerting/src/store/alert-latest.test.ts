// The `latest` key the API's state filter queries: the larger of the latest fire's and the
// latest resolve's keys ends in `:fire` exactly when isFiring says the alert fires, for any
// two times (ties resolved); and a page after a cursor is strictly older.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { alertFilter, isFiring, latestKey } from './alert.store.ts';

test('the larger latest key says firing exactly when isFiring does', () => {
  const time = fc.integer({ min: 0, max: 253_402_300_799_999 }); // up to year 9999
  fc.assert(
    fc.property(time, time, (fired, resolved) => {
      const keys = [latestKey(fired, 'fire'), latestKey(resolved, 'resolve')].sort();
      const latest = keys[1] as string;
      assert.equal(latest.endsWith(':fire'), isFiring({ firedAt: new Date(fired), resolvedAt: new Date(resolved) }));
    }),
  );
  assert.ok(latestKey(999, 'fire') < latestKey(1000, 'fire'), 'keys sort by time, not by digits');
});

test('the stored filter of a query: state, labels, and the page after a cursor', () => {
  assert.deepEqual(alertFilter({ state: 'firing', labels: { plan: 'p1' } }, null), { latest: { $regex: ':fire$' }, 'labels.plan': 'p1' });
  assert.deepEqual(alertFilter({ state: 'resolved' }, { at: 5, id: 'b' }), {
    latest: { $regex: ':resolve$' },
    $or: [{ startsAt: { $lt: new Date(5) } }, { startsAt: new Date(5), _id: { $lt: 'b' } }],
  });
  assert.deepEqual(alertFilter({}, null), {});
});
