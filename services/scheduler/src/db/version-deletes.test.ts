import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_VERSIONS_PER_DELETE, versionDeleteGroups } from './version-deletes.ts';

const run = (i: number, version: number) => ({ _id: `p/h-${i}`, version });

test('runs are grouped so that no delete matches more versions than SQLite has variables for', () => {
  const runs = Array.from({ length: 10_000 }, (_, i) => run(i, 6 + (i % 3)));
  const groups = versionDeleteGroups(runs);
  const versions = new Map(runs.map((r) => [r._id, r.version + 1]));
  for (const g of groups) {
    const n = g.reduce((sum, key) => sum + (versions.get(key) ?? 0), 0);
    assert.ok(n <= MAX_VERSIONS_PER_DELETE, `a group of ${n} versions`);
    assert.ok(MAX_VERSIONS_PER_DELETE < 32_766);
  }
  assert.deepEqual(
    groups.flat(),
    runs.map((r) => r._id),
    'every run once, in order',
  );
  // 80,000 versions: 4 reads of the versions, not 10.
  assert.equal(groups.length, 4);
});

test('a run counts at least one version; a run above the limit alone is still deleted', () => {
  assert.deepEqual(versionDeleteGroups([run(0, 0), run(1, -1)], 2), [['p/h-0', 'p/h-1']]);
  assert.deepEqual(versionDeleteGroups([run(0, 5), run(1, 1)], 3), [['p/h-0'], ['p/h-1']]);
  assert.deepEqual(versionDeleteGroups([]), []);
});
