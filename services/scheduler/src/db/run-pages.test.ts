import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pendingRun } from '../host-runs/new-run.ts';
import type { HostRunDoc, RunState } from './models.ts';
import { countMatching, pagesToRead, paginateRuns, type RunPageQuery, readRunPages, selectsRun } from './run-pages.ts';

const run = (n: number, phase: number, state: RunState, report = ''): HostRunDoc => ({
  ...pendingRun({ planId: 'p', hostId: `h-${String(n).padStart(2, '0')}`, order: n, phase, cluster: 'c', zone: 'z', rack: 'r' }),
  state,
  history: report
    ? [
        {
          step: 'precheck',
          attempt: 1,
          commandId: `c-${n}`,
          dispatchedAt: new Date(0),
          startedAt: null,
          finishedAt: null,
          outcome: 'succeeded',
          kind: null,
          code: '',
          message: '',
          report,
        },
      ]
    : [],
});

// 10 runs, given out of order: phase 0 is h-00..h-01, phase 1 the rest; h-03 and h-07 failed.
const finals = [7, 3, 9, 0, 5, 1, 8, 2, 6, 4].map((n) => run(n, n < 2 ? 0 : 1, n === 3 || n === 7 ? 'failed' : 'succeeded'));

/** Reads a whole list, page after page, from the pages in memory; records the pages read. */
async function list(
  paged: ReturnType<typeof paginateRuns>,
  q: Omit<RunPageQuery, 'limit'>,
  limit: number,
  read: string[] = [],
): Promise<string[][]> {
  const byId = new Map(paged.pages.map((p) => [p._id, p]));
  const out: string[][] = [];
  let after = q.after;
  for (;;) {
    const page = await readRunPages(paged.index, { ...q, limit, ...(after ? { after } : {}) }, async (id) => {
      read.push(id);
      return byId.get(id);
    });
    assert.ok(page);
    out.push(page.runs.map((r) => r.hostId));
    const last = page.runs.at(-1);
    if (!page.more || !last) return out;
    after = { order: last.order, key: last._id };
  }
}

test('runs are paged in take order, at most maxRuns a page, with their counts by phase and state', () => {
  const { pages, index } = paginateRuns('p', 'g1', finals, { maxRuns: 4, at: new Date(0) });
  assert.deepEqual(
    pages.map((p) => p.runs.map((r) => r.order)),
    [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ],
  );
  assert.deepEqual(
    pages.map((p) => p._id),
    ['p#g1#0', 'p#g1#1', 'p#g1#2'],
  );
  assert.equal(index._id, 'p#pages');
  assert.equal(index.runs, 10);
  assert.deepEqual(index.pages[0], {
    seq: 0,
    first: { order: 0, key: 'p/h-00' },
    last: { order: 3, key: 'p/h-03' },
    counts: { '0:succeeded': 2, '1:succeeded': 1, '1:failed': 1 },
  });
  assert.deepEqual(index.pages[2]?.counts, { '1:succeeded': 2 });
});

test('a page closes before it passes maxBytes, and holds at least one run however large', () => {
  const big = 'x'.repeat(5000);
  const runs = [run(0, 0, 'succeeded', big), run(1, 0, 'succeeded'), run(2, 0, 'succeeded', big), run(3, 0, 'succeeded', big.repeat(3))];
  const { pages } = paginateRuns('p', 'g', runs, { maxBytes: 8000 });
  assert.deepEqual(
    pages.map((p) => p.runs.map((r) => r.order)),
    [[0, 1], [2], [3]],
  );
  assert.deepEqual(paginateRuns('p', 'g', []).pages, []);
});

test('equal orders are taken by key', () => {
  const tied = [run(2, 0, 'succeeded'), run(1, 0, 'succeeded')].map((r) => ({ ...r, order: 5 }));
  const { index } = paginateRuns('p', 'g', tied);
  assert.deepEqual(index.pages[0]?.first, { order: 5, key: 'p/h-01' });
});

test('counts select by phase, by state, by both', () => {
  const entry = {
    seq: 0,
    first: { order: 0, key: 'a' },
    last: { order: 1, key: 'b' },
    counts: { '0:succeeded': 2, '1:failed': 1, '1:succeeded': 4 },
  };
  assert.equal(countMatching(entry, {}), 7);
  assert.equal(countMatching(entry, { phase: 1 }), 5);
  assert.equal(countMatching(entry, { state: 'succeeded' }), 6);
  assert.equal(countMatching(entry, { phase: 1, state: 'failed' }), 1);
  assert.equal(countMatching(entry, { phase: 0, state: 'failed' }), 0);
  assert.equal(countMatching({ ...entry, counts: { '12:held': 3 } }, { phase: 12, state: 'held' }), 3);
});

test('only pages ending after the cursor that hold a selected run are read', () => {
  const paged = paginateRuns('p', 'g', finals, { maxRuns: 4 });
  assert.deepEqual(pagesToRead(paged.index, { limit: 5 }), [0, 1, 2]);
  assert.deepEqual(pagesToRead(paged.index, { limit: 5, state: 'failed' }), [0, 1]);
  assert.deepEqual(pagesToRead(paged.index, { limit: 5, phase: 0 }), [0]);
  assert.deepEqual(pagesToRead(paged.index, { limit: 5, after: { order: 3, key: 'p/h-03' } }), [1, 2]);
  assert.deepEqual(pagesToRead(paged.index, { limit: 5, after: { order: 2, key: 'p/h-02' } }), [0, 1, 2]);
  assert.deepEqual(pagesToRead(paged.index, { limit: 5, after: { order: 9, key: 'p/h-09' } }), []);
});

test('reading page after page lists every selected run once, in take order, whatever the limit', async () => {
  const paged = paginateRuns('p', 'g', finals, { maxRuns: 3 });
  const all = Array.from({ length: 10 }, (_, n) => `h-${String(n).padStart(2, '0')}`);
  for (const limit of [1, 2, 3, 4, 7, 10, 11]) {
    const pages = await list(paged, {}, limit);
    assert.deepEqual(pages.flat(), all, `limit ${limit}`);
    assert.ok(
      pages.every((p) => p.length <= limit),
      `limit ${limit}`,
    );
    assert.equal(pages.length, Math.max(1, Math.ceil(10 / limit)), `limit ${limit}: no empty last page`);
  }
  const read: string[] = [];
  assert.deepEqual(await list(paged, { state: 'failed' }, 1, read), [['h-03'], ['h-07']]);
  // Pages 0 (h-00..02) and 3 (h-09) hold no failed run: never read. The second request
  // reads page 1 again: its count cannot tell whether its failed run is past the cursor.
  assert.deepEqual(read, ['p#g#1', 'p#g#2', 'p#g#1', 'p#g#2']);
  assert.deepEqual((await list(paged, { phase: 1, state: 'succeeded' }, 3)).flat(), ['h-02', 'h-04', 'h-05', 'h-06', 'h-08', 'h-09']);
  assert.deepEqual(await list(paged, { phase: 2 }, 3), [[]]);
});

test('a page the index names but the store lacks: no answer, the caller reads the runs', async () => {
  const paged = paginateRuns('p', 'g', finals, { maxRuns: 3 });
  const page = await readRunPages(paged.index, { limit: 5 }, async (id) => (id === 'p#g#1' ? null : paged.pages.find((p) => p._id === id)));
  assert.equal(page, undefined);
});

test('a run is selected after the cursor, in the phase and the state asked', () => {
  const r = run(4, 1, 'failed');
  assert.equal(selectsRun({ limit: 1 }, r), true);
  assert.equal(selectsRun({ limit: 1, after: { order: 4, key: 'p/h-04' } }, r), false, 'the cursor itself');
  assert.equal(selectsRun({ limit: 1, after: { order: 4, key: 'p/h-03' } }, r), true);
  assert.equal(selectsRun({ limit: 1, after: { order: 5, key: 'p/a' } }, r), false);
  assert.equal(selectsRun({ limit: 1, phase: 0 }, r), false);
  assert.equal(selectsRun({ limit: 1, phase: 1, state: 'failed' }, r), true);
  assert.equal(selectsRun({ limit: 1, state: 'succeeded' }, r), false);
});
