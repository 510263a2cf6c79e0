import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PieceOrder, UploadPiecesError } from './piece-order.ts';

const bytes = (n: number): Uint8Array => new Uint8Array([n]);
const values = (xs: Uint8Array[]): number[] => xs.map((x) => x[0] as number);

test('pieces stored in order come out as they are', () => {
  const o = new PieceOrder(4, 100);
  assert.deepEqual(
    [0, 1, 2].flatMap((i) => values(o.take(i, bytes(i)))),
    [0, 1, 2],
  );
  o.finish();
});

test('a piece stored late is put back in its place; copies are dropped', () => {
  const o = new PieceOrder(4, 100);
  assert.deepEqual(values(o.take(0, bytes(0))), [0]);
  assert.deepEqual(values(o.take(2, bytes(2))), []);
  assert.deepEqual(values(o.take(3, bytes(3))), []);
  assert.deepEqual(values(o.take(1, bytes(1))), [1, 2, 3]);
  assert.deepEqual(values(o.take(1, bytes(9))), [], 'a copy published again after the duplicate window');
  assert.deepEqual(values(o.take(4, bytes(4))), [4]);
  o.finish();
});

test('a piece that never comes is missing, at the end or once too many wait for it', () => {
  const atEnd = new PieceOrder(4, 100);
  atEnd.take(0, bytes(0));
  atEnd.take(2, bytes(2));
  assert.throws(
    () => atEnd.finish(),
    (e: unknown) => e instanceof UploadPiecesError && /piece 1 is missing: the next one published is 2/.test(e.message),
  );
  const tooMany = new PieceOrder(2, 100);
  tooMany.take(1, bytes(1));
  tooMany.take(2, bytes(2));
  assert.throws(() => tooMany.take(3, bytes(3)), /piece 0 is missing: the next one published is 1/);
});

test('more bytes than declared are refused', () => {
  const o = new PieceOrder(4, 2);
  o.take(0, new Uint8Array(2));
  assert.throws(() => o.take(1, new Uint8Array(1)), /more than the 2 bytes declared/);
});
