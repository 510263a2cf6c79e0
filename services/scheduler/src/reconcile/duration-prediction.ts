// How long a host's migration will hold its slot, predicted so that admission can start the
// longest first (longest-processing-time order: the short ones fill the tail, so the last
// slot frees close to Σd ÷ C). Two parts, both pure:
//
// - A model from what is known before the run: the host's size as its agent reports it
//   (packages installed, their installed bytes, the disk in use), or better, the upgrade its
//   assessment previewed (assessment/duration-estimate.ts, the model the pool report uses).
// - A correction learnt from this plan's finished hosts: per kind (the profile × a size class
//   of the prediction), a robust ratio (the median of the last ratios) of the slot time a
//   host actually took to what was predicted for it. The median, because one host that
//   waited for a retry or an operator must not reorder the rest.
//
// Only the order matters to admission, so a model off by a constant factor does no harm;
// the learnt ratios fix what differs between kinds.
import type { AssessedPreview } from '../assessment/assessment-report.ts';
import { DEFAULT_ESTIMATE_MODEL, type EstimateModel, hostSeconds } from '../assessment/duration-estimate.ts';

/** A host's size as its agent reports it (HostFacts); 0 where an agent does not say. */
export interface HostSize {
  packages: number;
  installedBytes: number;
  diskUsedBytes: number;
}

export interface PredictionModel extends Omit<EstimateModel, 'slots'> {
  /** Of the installed bytes, the share a release upgrade downloads (compressed packages). */
  downloadShare: number;
  /** Of the installed packages, the share a release upgrade replaces. */
  upgradedShare: number;
  /** The data backup's pace over the disk in use. */
  backupBytesPerSecond: number;
}

export const DEFAULT_PREDICTION_MODEL: PredictionModel = {
  ...DEFAULT_ESTIMATE_MODEL,
  // A release upgrade replaces nearly every package; .deb/.rpm compress to about a third.
  downloadShare: 0.35,
  upgradedShare: 0.9,
  // A data backup streams through the backup service at about 100 MiB/s a host.
  backupBytesPerSecond: 100 * 1024 * 1024,
};

/** What is known of a host before its run: either may be missing. */
export interface PredictionInputs {
  size?: HostSize | null;
  /** The host's latest assessment's preview (exact where the size is a guess). */
  preview?: AssessedPreview | null;
}

/**
 * The host's predicted slot time in seconds, or undefined when nothing is known of it
 * (an agent that reports no size and no assessment).
 */
export function predictSeconds(inputs: PredictionInputs, model: PredictionModel = DEFAULT_PREDICTION_MODEL): number | undefined {
  const { size, preview } = inputs;
  const backup = size ? size.diskUsedBytes / model.backupBytesPerSecond : 0;
  if (preview) return hostSeconds(preview, { ...model, slots: 1 }) + backup;
  if (!size || (size.packages <= 0 && size.installedBytes <= 0 && size.diskUsedBytes <= 0)) return undefined;
  return (
    model.fixedSeconds +
    size.packages * model.upgradedShare * model.secondsPerPackage +
    (size.installedBytes * model.downloadShare) / model.bytesPerSecond +
    backup
  );
}

/** A host's size from its registered facts (HostDoc.facts); null when it reported none. */
export function sizeOfFacts(
  facts: { packageCount?: number; installedBytes?: number; diskUsedBytes?: number } | undefined,
): HostSize | null {
  if (!facts) return null;
  return { packages: facts.packageCount ?? 0, installedBytes: facts.installedBytes ?? 0, diskUsedBytes: facts.diskUsedBytes ?? 0 };
}

/** Hosts whose predictions are within a factor of two share a size class. */
export function sizeClass(seconds: number): number {
  return Math.max(0, Math.round(Math.log2(Math.max(1, seconds) / 60)));
}

/** What the learnt ratios are kept by: the profile and the size class ('?' when nothing was predicted). */
export function kindOf(profile: string, seconds: number | undefined): string {
  return `${profile}/${seconds === undefined ? '?' : sizeClass(seconds)}`;
}

/** The last `size` samples, kept sorted too, so that their median costs O(size) to keep and O(1) to read. */
class SampleWindow {
  readonly #size: number;
  readonly #arrival: number[] = [];
  readonly #sorted: number[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  get length(): number {
    return this.#arrival.length;
  }

  add(x: number): void {
    this.#arrival.push(x);
    this.#sorted.splice(this.#lowerBound(x), 0, x);
    if (this.#arrival.length > this.#size) this.#sorted.splice(this.#lowerBound(this.#arrival.shift() as number), 1);
  }

  median(): number {
    const s = this.#sorted;
    const mid = s.length >> 1;
    return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  }

  #lowerBound(x: number): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#sorted[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The ratios learnt from finished hosts, per kind. Hosts with no prediction learn their
 * kind's typical slot time instead of a ratio. Each kind keeps its last `window` samples;
 * a kind's own median counts once it has `minSamples` (one slow host must not move every
 * other of its kind alone); before, its hosts take the plan's overall ratio.
 */
export class DurationLearning {
  readonly #window: number;
  readonly #minSamples: number;
  readonly #ratios = new Map<string, SampleWindow>();
  readonly #all: SampleWindow;
  readonly #factor = new Map<string, number>();
  #overall = 1;

  constructor(opts: { window?: number; minSamples?: number } = {}) {
    this.#window = opts.window ?? 99;
    this.#minSamples = opts.minSamples ?? 3;
    this.#all = new SampleWindow(this.#window);
  }

  /** A host of `kind` predicted at `predicted` seconds (undefined: none) held its slot `actual` seconds. */
  learn(kind: string, predicted: number | undefined, actual: number): void {
    if (!(actual > 0) || !Number.isFinite(actual)) return;
    const sample = predicted === undefined ? actual : actual / Math.max(predicted, 1e-9);
    const list = this.#ratios.get(kind) ?? new SampleWindow(this.#window);
    list.add(sample);
    this.#ratios.set(kind, list);
    if (predicted !== undefined) {
      this.#all.add(sample);
      this.#overall = this.#all.median();
    }
    if (list.length >= this.#minSamples) this.#factor.set(kind, list.median());
  }

  /** Samples learnt for `kind`. */
  samples(kind: string): number {
    return this.#ratios.get(kind)?.length ?? 0;
  }

  /**
   * The corrected prediction of a host of `kind` predicted at `predicted` seconds. A host
   * with no prediction gets its kind's learnt slot time, or 0 (it starts after the
   * predicted ones) until one of its kind has finished.
   */
  corrected(kind: string, predicted: number | undefined): number {
    const f = this.#factor.get(kind);
    if (predicted === undefined) return f ?? 0;
    return predicted * (f ?? this.#overall);
  }
}
