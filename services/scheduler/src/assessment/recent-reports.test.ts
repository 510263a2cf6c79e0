import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentReports } from './recent-reports.ts';

test('a report is kept while it is read within the idle time, and dropped after', () => {
  const r = new RecentReports<string>(1000, 2);
  r.put('fleet', 'A', 0);
  assert.equal(r.get('fleet', 900), 'A');
  assert.equal(r.get('fleet', 1800), 'A', 'each read keeps it longer');
  assert.equal(r.get('fleet', 2801), undefined, 'idle too long');
  assert.equal(r.get('fleet', 2802), undefined);
  assert.equal(r.get('other', 0), undefined);
});

test('a new build replaces the kept one; beyond the most kept, the least recently read goes', () => {
  const r = new RecentReports<string>(10_000, 2);
  r.put('a', 'A1', 0);
  r.put('a', 'A2', 1);
  assert.equal(r.get('a', 2), 'A2');
  r.put('b', 'B', 3);
  r.get('a', 4);
  r.put('c', 'C', 5);
  assert.deepEqual([r.get('a', 6), r.get('b', 6), r.get('c', 6)], ['A2', undefined, 'C']);
});
