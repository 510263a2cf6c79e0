// How long migrating the assessed hosts would take, from their previews. A model, not a
// measurement: each host's migration is a fixed part (cluster check, precheck, backup,
// reboot, post-check) plus its download at an assumed throughput plus a cost per package
// changed (unpack, configure, triggers):
//
//   d(host) = fixedSeconds + downloadBytes / bytesPerSecond + (upgrades + installs) × secondsPerPackage
//
// With `slots` hosts in flight at once (the plan's maxInFlight), the whole takes at least
// the work spread over the slots, and at least the longest host:
//
//   makespan ≈ max(Σ d / slots, max d)
//
// It leaves out what the operator decides (gates between phases, soak times), per-domain
// limits that keep slots idle, retries and rollbacks: a lower bound for planning, and the
// parameters can be given to match what a site has measured.
import type { AssessedPreview } from './assessment-report.ts';

export interface EstimateModel {
  /** Download throughput of one host from the mirror. */
  bytesPerSecond: number;
  secondsPerPackage: number;
  fixedSeconds: number;
  /** Hosts migrating at once. */
  slots: number;
}

export const DEFAULT_ESTIMATE_MODEL: EstimateModel = {
  // A shared mirror seen from one of many hosts at once: 20 MiB/s each.
  bytesPerSecond: 20 * 1024 * 1024,
  // dpkg/rpm unpack, configure and triggers: an assumed 0.4 s a package (not measured here).
  secondsPerPackage: 0.4,
  // Snapshot backup, one reboot and the checks around them.
  fixedSeconds: 180,
  slots: 10,
};

/** One host's estimated migration time, in whole seconds. */
export function hostSeconds(preview: AssessedPreview, model: EstimateModel): number {
  return Math.ceil(
    model.fixedSeconds + preview.downloadBytes / model.bytesPerSecond + (preview.upgrades + preview.installs) * model.secondsPerPackage,
  );
}

export interface DurationEstimate {
  model: EstimateModel;
  /** Hosts the estimate covers: those ready to migrate (with or without warnings) whose upgrade was computed. */
  hosts: number;
  /** Σ d: host-seconds of work. */
  totalHostSeconds: number;
  longestHostSeconds: number;
  makespanSeconds: number;
}

/** The makespan of hosts taking `seconds` each, `model.slots` at a time. */
export function estimateDuration(seconds: readonly number[], model: EstimateModel): DurationEstimate {
  let total = 0;
  let longest = 0;
  for (const d of seconds) {
    total += d;
    if (d > longest) longest = d;
  }
  return {
    model,
    hosts: seconds.length,
    totalHostSeconds: total,
    longestHostSeconds: longest,
    makespanSeconds: Math.ceil(Math.max(total / Math.max(1, model.slots), longest)),
  };
}
