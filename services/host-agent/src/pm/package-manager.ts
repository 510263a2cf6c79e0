// What the migration needs from a package manager, whichever it is (apt, dnf). The
// migration driver does the step logic; a PackageManager knows how to read and change
// one root's packages.
import { manifestPackageProblem, YxError } from '@yixing/common/base';
import type { StepContext } from '../drivers/driver.ts';
import type { ListsReport } from './apt-lists.ts';

export interface InstalledPackage {
  name: string;
  arch: string;
  version: string;
  /** Held (apt-mark hold) or version-locked (dnf versionlock). */
  held: boolean;
  /** The source package it was built from (dpkg `source:Package`, rpm SOURCERPM's name); absent in older manifests. */
  source?: string;
}

/** A manifest (read from a backup) entry that is not a package name, arch or version. */
export class ManifestEntryError extends YxError {
  readonly code = 'MANIFEST_ENTRY_INVALID';
  readonly retryable = false;
}

/**
 * The package, if its name, arch and version may go on a command line or into a `dnf
 * shell` script (see manifestPackageProblem); else ManifestEntryError, before any command runs.
 */
export function checkedPackage<P extends Pick<InstalledPackage, 'name' | 'arch' | 'version'>>(p: P): P {
  const problem = manifestPackageProblem(p);
  if (problem)
    throw new ManifestEntryError(`the manifest's package ${JSON.stringify(`${p.name}:${p.arch}`)}: ${problem}`, { details: { ...p } });
  return p;
}

/** A repository configured in the root. */
export interface ConfiguredRepo {
  /** Where it points (URI or baseurl). */
  uri: string;
  /** The file that configures it, relative to the root. */
  file: string;
  enabled: boolean;
}

export interface LockState {
  /** Another process holds the package manager's lock. */
  locked: boolean;
  /** A transaction was interrupted and left packages half installed. */
  interrupted: boolean;
  detail: string;
}

/**
 * What the upgrade does to one package: `upgraded` (a newer version from the target),
 * `unchanged`, `replaced` (by design: obsoleted/replaced by a renamed package, the release
 * package swapped; `by` names what replaces it), `removed` (by the upgrade, nothing takes
 * its place), `orphaned` (from the source repositories, no candidate in the target: stays
 * at its source version, unsupported), `foreign` (not from the source repositories), `new`
 * (installed by the upgrade).
 */
export type PackageFate = 'upgraded' | 'unchanged' | 'replaced' | 'removed' | 'orphaned' | 'foreign' | 'new';

export interface PackageChange {
  name: string;
  arch: string;
  /** Installed version before the upgrade (absent for `new`). */
  from?: string;
  /** Version after the upgrade (absent when removed, replaced or left alone). */
  to?: string;
  fate: PackageFate;
  by?: string;
}

export interface UpgradePreview {
  /** The target repositories answered. */
  reachable: boolean;
  error: string;
  downloadBytes: number;
  /** Net growth of installed files. */
  installBytes: number;
  upgrades: number;
  installs: number;
  /** Why the source repositories could not be read (absent or '' when they were): then no package is called foreign. */
  sourceError?: string;
  /** Packages the upgrade would remove (replaced ones included; `changes` tells which). */
  removals: string[];
  /** Every installed package and every new one, classified (see PackageFate). */
  changes: PackageChange[];
}

export interface PackageManager {
  readonly name: 'apt' | 'dnf';
  /** Where downloaded packages go, relative to the root (for the space check). */
  readonly cacheDir: string;
  installed(): Promise<InstalledPackage[]>;
  repositories(): Promise<ConfiguredRepo[]>;
  lockState(): Promise<LockState>;
  /** Computes the upgrade against the target repositories without changing the root. */
  preview(ctx: StepContext): Promise<UpgradePreview>;
  /**
   * Switches to the target repositories and upgrades; `resume` finishes an interrupted one.
   * `lists`: whether it reused the lists the assessment fetched, and whether they changed since.
   */
  upgrade(ctx: StepContext, resume: boolean): Promise<{ transaction: string; lists?: ListsReport }>;
  /** Back to the source repositories and exactly `manifest`'s packages. */
  restore(manifest: InstalledPackage[], ctx: StepContext): Promise<void>;
}

export const packageKey = (p: Pick<InstalledPackage, 'name' | 'arch'>): string => `${p.name}:${p.arch}`;

/** Differences between two package sets, for verification and messages. */
export function diffPackages(
  expected: InstalledPackage[],
  actual: InstalledPackage[],
): { missing: string[]; extra: string[]; changed: string[] } {
  const want = new Map(expected.map((p) => [packageKey(p), p.version]));
  const have = new Map(actual.map((p) => [packageKey(p), p.version]));
  return {
    missing: [...want.keys()].filter((k) => !have.has(k)).sort(),
    extra: [...have.keys()].filter((k) => !want.has(k)).sort(),
    changed: [...want.entries()]
      .filter(([k, v]) => have.has(k) && have.get(k) !== v)
      .map(([k, v]) => `${k} ${have.get(k)} (expected ${v})`),
  };
}
