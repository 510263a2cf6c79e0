import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addPage, noPages, wantsMore } from './group-pages.ts';

const page = (hosts: string[], hostCount: number, nextCursor: string | null) => ({ group: 'warning:x', hostCount, hosts, nextCursor });

test('pages add up in order until one has no next cursor', () => {
  let p = noPages(5);
  assert.deepEqual(p, { hosts: [], hostCount: 5, cursor: null, done: false });
  p = addPage(p, page(['a', 'b'], 5, 'c1'));
  assert.deepEqual(p, { hosts: ['a', 'b'], hostCount: 5, cursor: 'c1', done: false });
  p = addPage(p, page(['c', 'd', 'e'], 5, null));
  assert.deepEqual(p, { hosts: ['a', 'b', 'c', 'd', 'e'], hostCount: 5, cursor: null, done: true });
});

test('a group that shrank or grew between pages: the list is as long as what was loaded at the end', () => {
  const shrank = addPage(addPage(noPages(5), page(['a', 'b'], 5, 'c1')), page(['d'], 3, null));
  assert.equal(shrank.hostCount, 3);
  const grew = addPage(noPages(2), page(['a', 'b'], 4, 'c1'));
  assert.equal(grew.hostCount, 4);
});

test('the next page is wanted when the rows in sight near the end of what is loaded, never after the last', () => {
  const p = addPage(
    noPages(3000),
    page(
      Array.from({ length: 1000 }, (_, i) => `h${i}`),
      3000,
      'c1',
    ),
  );
  assert.equal(wantsMore(noPages(3000), 0), true, 'the first page');
  assert.equal(wantsMore(p, 10), false);
  assert.equal(wantsMore(p, 850), true);
  assert.equal(wantsMore(p, 2999), true, 'dragged to the end');
  assert.equal(wantsMore({ ...p, done: true }, 2999), false);
});
