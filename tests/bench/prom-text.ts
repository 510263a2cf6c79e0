// Reading a service's /metrics for a benchmark: the Prometheus text format's samples, a
// counter's total over its label sets, and a histogram's quantile from the difference of
// two scrapes. Written here rather than taken from npm: a benchmark needs sums and
// buckets, and the format's sample lines are one regular expression.
import { DecodeError } from '@yixing/common';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of the text; comments and blank lines skipped, a malformed line refused. */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new DecodeError(`metrics line ${i + 1} is not a sample: ${line.slice(0, 120)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a metric's samples over every label set (0 when absent). */
export function total(samples: readonly Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
}

/** A histogram's cumulative bucket counts by upper bound, summed over its other labels. */
export function buckets(samples: readonly Sample[], name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/** What was observed between two scrapes of a histogram's buckets. */
export function bucketsBetween(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([le, n]) => [le, n - (before.get(le) ?? 0)]));
}

/**
 * The q-quantile of cumulative buckets, interpolated linearly inside the bucket it falls
 * in (as PromQL's histogram_quantile); undefined with no observation. A quantile in the
 * +Inf bucket is the highest finite bound (the histogram cannot say more).
 */
export function quantile(cumulative: Map<number, number>, q: number): number | undefined {
  const entries = [...cumulative];
  const count = entries.at(-1)?.[1] ?? 0;
  if (count <= 0) return undefined;
  const rank = q * count;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, n] of entries) {
    if (n >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return n === prevCount ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / (n - prevCount);
    }
    prevLe = le;
    prevCount = n;
  }
  return prevLe;
}

/** The share of observations at or under `le` (one of the bucket bounds). */
export function shareAtMost(cumulative: Map<number, number>, le: number): number | undefined {
  const count = [...cumulative].at(-1)?.[1] ?? 0;
  const at = cumulative.get(le);
  return count > 0 && at !== undefined ? at / count : undefined;
}
