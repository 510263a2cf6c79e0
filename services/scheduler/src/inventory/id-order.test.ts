import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareIds, IdOrder } from './id-order.ts';

test('ids come back ascending however they were added, between reads and across them', () => {
  const order = new IdOrder();
  const all: string[] = [];
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return `h-${seed.toString(36)}`;
  };
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 1 + round * 7; i++) {
      const id = next();
      if (all.includes(id)) continue;
      all.push(id);
      order.add(id);
    }
    assert.deepEqual(order.ids(), [...all].sort(compareIds), `round ${round}`);
    assert.equal(order.size, all.length);
  }
});

test('code-unit order, as cursors compare: upper case before lower, digits before letters', () => {
  const order = new IdOrder();
  for (const id of ['b', 'B', 'a', '1', 'a-2', 'a-10']) order.add(id);
  assert.deepEqual(order.ids(), ['1', 'B', 'a', 'a-10', 'a-2', 'b']);
});

test('indexAfter finds the first id above any id, present or not', () => {
  const order = new IdOrder();
  for (const id of ['h-03', 'h-01', 'h-05']) order.add(id);
  assert.equal(order.indexAfter(''), 0);
  assert.equal(order.indexAfter('h-01'), 1);
  assert.equal(order.indexAfter('h-02'), 1);
  assert.equal(order.indexAfter('h-05'), 3);
  order.add('h-02');
  assert.equal(order.indexAfter('h-01'), 1, 'an id added since is merged first');
  assert.equal(order.ids()[1], 'h-02');
});
