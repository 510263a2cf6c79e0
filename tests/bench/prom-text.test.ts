import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buckets, bucketsBetween, parseSamples, quantile, shareAtMost, total } from './prom-text.ts';

const scrape = (a: number[], b: number[]) => `# HELP h a histogram
# TYPE h histogram
h_bucket{step="upgrade",le="0.01"} ${a[0]}
h_bucket{step="upgrade",le="0.1"} ${a[1]}
h_bucket{step="upgrade",le="1"} ${a[2]}
h_bucket{step="upgrade",le="+Inf"} ${a[3]}
h_bucket{step="reboot",le="0.01"} ${b[0]}
h_bucket{step="reboot",le="0.1"} ${b[1]}
h_bucket{step="reboot",le="1"} ${b[2]}
h_bucket{step="reboot",le="+Inf"} ${b[3]}
h_count{step="upgrade"} ${a[3]}
c_total{command="find",app="x \\"y\\""} 7
c_total{command="insert"} 5
`;

test('samples, totals over label sets and quantiles of the buckets observed between two scrapes', () => {
  const before = parseSamples(scrape([0, 0, 0, 0], [10, 10, 10, 10]));
  const after = parseSamples(scrape([50, 90, 100, 100], [10, 10, 10, 10]));
  assert.equal(total(after, 'c_total'), 12);
  assert.equal(after.find((s) => s.labels.command === 'find')?.labels.app, 'x "y"');
  const seen = bucketsBetween(buckets(before, 'h'), buckets(after, 'h'));
  assert.deepEqual([...seen.values()], [50, 90, 100, 100], 'the reboot observations before the first scrape are not counted');
  assert.equal(quantile(seen, 0.5), 0.01);
  assert.ok(Math.abs((quantile(seen, 0.7) as number) - (0.01 + 0.09 * (20 / 40))) < 1e-12, 'interpolated in its bucket');
  assert.ok(Math.abs((quantile(seen, 0.99) as number) - 0.91) < 1e-12);
  assert.equal(shareAtMost(seen, 0.1), 0.9);
  assert.equal(
    quantile(
      new Map([
        [1, 0],
        [Number.POSITIVE_INFINITY, 0],
      ]),
      0.5,
    ),
    undefined,
    'nothing observed',
  );
  assert.equal(
    quantile(
      new Map([
        [1, 0],
        [Number.POSITIVE_INFINITY, 3],
      ]),
      0.5,
    ),
    1,
    'past the last bound: the last bound',
  );
});

test('a line that is not a sample is refused, naming the line', () => {
  assert.throws(() => parseSamples('ok 1\nthis is not { a sample'), /metrics line 2 is not a sample/);
});
