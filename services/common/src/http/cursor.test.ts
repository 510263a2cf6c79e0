import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, encodeCursor, InvalidCursorError, newestFirstAfter, pageLimit, pageOf } from './cursor.ts';

test('a cursor names the last item of a page and reads back as it was', () => {
  const key = { at: Date.UTC(2026, 0, 1), id: 'b-20260101-00000000000a' };
  const cursor = encodeCursor(key);
  assert.match(cursor, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeCursor(cursor), key);
  assert.deepEqual(newestFirstAfter(key), {
    $or: [{ createdAt: { $lt: new Date(key.at) } }, { createdAt: new Date(key.at), _id: { $lt: key.id } }],
  });
});

test('a cursor the API did not make is a 400 naming the field', () => {
  for (const bad of ['AAAA', 'bm9wZQ', encodeCursor({ at: 1.5, id: 'x' }), Buffer.from('[1,""]').toString('base64url')]) {
    assert.throws(
      () => decodeCursor(bad),
      (err: unknown) => err instanceof InvalidCursorError && err.httpStatus === 400 && err.details.field === 'query.cursor',
      bad,
    );
  }
});

test('a page is limit items and a cursor only when one more was read', () => {
  const docs = [3, 2, 1].map((n) => ({ _id: `d${n}`, createdAt: new Date(n * 1000) }));
  assert.deepEqual(pageOf(docs, 3), { docs, nextCursor: null });
  const page = pageOf(docs, 2);
  assert.deepEqual(page.docs, docs.slice(0, 2));
  assert.deepEqual(decodeCursor(page.nextCursor as string), { at: 2000, id: 'd2' });
  assert.equal(pageLimit(undefined, 50, 500), 50);
  assert.equal(pageLimit('0', 50, 500), 1);
  assert.equal(pageLimit('9999', 50, 500), 500);
});
