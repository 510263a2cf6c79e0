import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BinaryHeap, IndexedHeap } from './binary-heap.ts';

test('a binary heap gives its items smallest first', () => {
  const h = new BinaryHeap<number>((a, b) => a < b);
  for (const x of [5, 3, 8, 1, 9, 2]) h.push(x);
  const out: number[] = [];
  for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
  assert.deepEqual(out, [1, 2, 3, 5, 8, 9]);
});

test('an indexed heap: keys change and items leave in place; reading in order changes nothing', () => {
  const items = [5, 3, 8, 1, 9, 2].map((key) => ({ key }));
  const h = new IndexedHeap<{ key: number }>((a, b) => a.key < b.key);
  for (const it of items) h.update(it);
  assert.deepEqual(
    [...h.ordered()].map((i) => i.key),
    [1, 2, 3, 5, 8, 9],
  );
  assert.deepEqual(
    [...h.ordered()].map((i) => i.key),
    [1, 2, 3, 5, 8, 9],
    'read twice',
  );
  (items[4] as { key: number }).key = 0; // 9 → 0
  h.update(items[4] as { key: number });
  h.remove(items[3] as { key: number }); // 1
  assert.deepEqual(
    [...h.ordered()].map((i) => i.key),
    [0, 2, 3, 5, 8],
  );
  for (const it of items) it.key = 10 - it.key;
  h.reorder();
  assert.deepEqual(
    [...h.ordered()].map((i) => i.key),
    [2, 5, 7, 8, 10],
  );
  assert.equal(h.has(items[3] as { key: number }), false);
});
