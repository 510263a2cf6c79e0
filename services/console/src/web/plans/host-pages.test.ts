import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyHostChanges,
  emptyList,
  failedPage,
  type HostChange,
  hostsPageUrl,
  mergePage,
  nextRequest,
  requesting,
} from './host-pages.ts';

const run = (n: number, state = 'failed' as const) => ({
  hostId: `h-${n}`,
  state,
  step: 'upgrade' as const,
  cluster: 'c1',
  failure: { step: 'upgrade' as const, kind: 'execution' as const, code: 'E1', message: 'm', seq: n, at: new Date(0) },
  history: [{ a: 'large' }],
});
const wave1Failed = { phase: 1, state: 'failed' as const };

test('the page URL names the phase, the state, the cursor and the limit', () => {
  assert.equal(hostsPageUrl('/api', 'p-1', wave1Failed, ''), '/api/v1/plans/p-1/hosts?phase=1&state=failed&limit=200');
  assert.equal(hostsPageUrl('/api', 'p 1', { phase: 0, state: null }, 'abc', 50), '/api/v1/plans/p%201/hosts?phase=0&cursor=abc&limit=50');
});

test('pages merge in order, each host once, keeping only what a row shows', () => {
  let list = requesting(emptyList(wave1Failed), '');
  list = mergePage(list, wave1Failed, '', { hosts: [run(1), run(2)], nextCursor: 'c2' });
  assert.deepEqual(list.rows[0], { hostId: 'h-1', state: 'failed', step: 'upgrade', cluster: 'c1', failureCode: 'E1' });
  assert.equal(list.started, true);
  assert.equal(list.loading, null);
  list = requesting(list, 'c2');
  list = mergePage(list, wave1Failed, 'c2', { hosts: [run(2), run(3)], nextCursor: null });
  assert.deepEqual(
    list.rows.map((r) => r.hostId),
    ['h-1', 'h-2', 'h-3'],
  );
  assert.equal(list.nextCursor, null);
});

test('a late answer for another filter or cursor changes nothing; a failure lets the next look ask again', () => {
  const list = requesting(emptyList(wave1Failed), '');
  assert.equal(mergePage(list, { phase: 2, state: 'failed' }, '', { hosts: [run(1)], nextCursor: null }), list);
  assert.equal(mergePage(list, wave1Failed, 'old', { hosts: [run(1)], nextCursor: null }), list);
  assert.equal(mergePage(emptyList(wave1Failed), wave1Failed, '', { hosts: [run(1)], nextCursor: null }).rows.length, 0);
  const failed = failedPage(list, wave1Failed, '');
  assert.equal(failed.loading, null);
  assert.equal(nextRequest(failed, 0), '');
  assert.equal(failedPage(list, wave1Failed, 'other'), list);
});

test('the next page is asked for when the last row shown nears the end, once, until none is left', () => {
  const fresh = emptyList(wave1Failed);
  assert.equal(nextRequest(fresh, -1), '');
  assert.equal(nextRequest(requesting(fresh, ''), -1), null);
  const hosts = Array.from({ length: 200 }, (_, i) => run(i));
  const loaded = mergePage(requesting(fresh, ''), wave1Failed, '', { hosts, nextCursor: 'c200' });
  assert.equal(nextRequest(loaded, 100), null);
  assert.equal(nextRequest(loaded, 150), 'c200');
  assert.equal(nextRequest(requesting(loaded, 'c200'), 199), null);
  assert.equal(nextRequest({ ...loaded, nextCursor: null }, 199), null);
});

test('host changes from the event stream move listed rows in one pass; others are ignored', () => {
  const list = mergePage(requesting(emptyList({ phase: 1, state: null }), ''), { phase: 1, state: null }, '', {
    hosts: [run(1), run(2)],
    nextCursor: null,
  });
  const changes = new Map<string, HostChange>([
    ['h-2', { hostId: 'h-2', state: 'succeeded', step: 'postcheck', failure: null }],
    ['h-9', { hostId: 'h-9', state: 'active', step: 'backup', failure: null }],
  ]);
  const moved = applyHostChanges(list, changes);
  assert.deepEqual(moved.rows[1], { hostId: 'h-2', state: 'succeeded', step: 'postcheck', cluster: 'c1', failureCode: '' });
  assert.equal(moved.rows[0], list.rows[0]);
  assert.equal(applyHostChanges(list, new Map()), list);
  assert.equal(applyHostChanges(list, new Map([['h-9', changes.get('h-9') as HostChange]])), list);
});
