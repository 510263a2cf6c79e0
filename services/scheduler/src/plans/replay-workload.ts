// Seeded workloads for the schedule replay (schedule-replay.ts): hosts spread over uneven
// clusters, durations drawn from a lognormal, predictions off by a lognormal noise. The
// same seed gives the same hosts, so a figure in BENCHMARKS.md can be reproduced. The
// generator is mulberry32 (32 bits of state; plenty for a benchmark's draws), written here
// rather than taken from npm for its five lines.
import type { ReplayHost } from './schedule-replay.ts';

/** Uniform draws in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller) from uniform ones. */
export function normalFrom(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export interface WorkloadSpec {
  hosts: number;
  clusters: number;
  /** The median duration, seconds. */
  medianSeconds: number;
  /** σ of ln(duration). */
  sigma: number;
  /** σ of ln(predicted ÷ actual); absent: no predictions. */
  predictionSigma?: number;
  seed: number;
}

/**
 * Hosts with lognormal durations in clusters of uneven sizes (a cluster's share grows with
 * its index: cluster i of k holds about 2(i+1) ÷ k(k+1) of the hosts), each cluster its own zone
 * and rack.
 */
export function lognormalWorkload(spec: WorkloadSpec): ReplayHost[] {
  const normal = normalFrom(seededRandom(spec.seed));
  // Predictions draw from a stream of their own: the same seed gives the same durations with or without them.
  const noiseNormal = normalFrom(seededRandom(spec.seed ^ 0x9e3779b9));
  const weights = Array.from({ length: spec.clusters }, (_, i) => i + 1);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const hosts: ReplayHost[] = [];
  let c = 0;
  let inCluster = 0;
  for (let i = 0; i < spec.hosts; i++) {
    const share = Math.max(1, Math.round((spec.hosts * (weights[c] as number)) / totalWeight));
    if (inCluster >= share && c < spec.clusters - 1) {
      c++;
      inCluster = 0;
    }
    inCluster++;
    const seconds = spec.medianSeconds * Math.exp(spec.sigma * normal());
    const noise = spec.predictionSigma === undefined ? undefined : Math.exp(spec.predictionSigma * noiseNormal());
    hosts.push({
      hostId: `h${i}`,
      cluster: `c${c}`,
      zone: `z${c}`,
      rack: `r${c}`,
      seconds,
      ...(noise === undefined ? {} : { predictedSeconds: seconds * noise }),
    });
  }
  return hosts;
}
