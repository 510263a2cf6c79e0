import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineTime, seekTail } from './log-reader.ts';

test('a line time no date can hold is no time, not an error', () => {
  assert.equal(lineTime(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00.000Z');
  for (const bad of [1e300, -1e300, Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) assert.equal(lineTime(bad), null, String(bad));
});

/** A run's lines at these stream sequences: what a consumer's pending count says from `seq`. */
function stream(seqs: number[]) {
  const probes: number[] = [];
  return {
    probes,
    linesFrom: async (seq: number) => {
      probes.push(seq);
      return seqs.filter((s) => s >= seq).length;
    },
  };
}

test('a tail starts at the run’s tail-th last line, however its lines are spread', async () => {
  const cases: { name: string; seqs: number[] }[] = [
    { name: 'dense', seqs: Array.from({ length: 100 }, (_, i) => i + 1) },
    { name: 'one in four', seqs: Array.from({ length: 100 }, (_, i) => 4 * i + 1) },
    { name: 'a burst at the end of a long stream', seqs: [3, 50_000, ...Array.from({ length: 20 }, (_, i) => 900_000 + i * 7)] },
    { name: 'sparse', seqs: Array.from({ length: 30 }, (_, i) => 1 + i * 31_337) },
  ];
  for (const { name, seqs } of cases) {
    for (const tail of [1, 10, 25]) {
      const s = stream(seqs);
      const start = await seekTail(s.linesFrom, seqs.at(-1) as number, tail, seqs.length);
      const expected = Math.min(tail, seqs.length);
      assert.equal(start.lines, expected, `${name}, tail ${tail}`);
      assert.equal(seqs.filter((q) => q >= start.seq).length, expected, `${name}, tail ${tail}: from ${start.seq}`);
      // Doubling then halving: probes grow with the log of the spread, not with the stream.
      assert.ok(s.probes.length <= 2 * Math.ceil(Math.log2(seqs.at(-1) as number)) + 2, `${name}: ${s.probes.length} probes`);
    }
  }
  const dense = stream(Array.from({ length: 100 }, (_, i) => i + 1));
  await seekTail(dense.linesFrom, 100, 10, 100);
  assert.deepEqual(dense.probes, [91], 'dense lines: the first probe is the answer');
  const short = stream([5, 9]);
  assert.deepEqual(await seekTail(short.linesFrom, 9, 10, 2), { seq: 1, lines: 2 });
  assert.equal(short.probes.length, 0, 'a run shorter than the tail is read from the start');
});
