// The order of a package rollback, decided from two package sets and nothing else.
//
// Why phases: a rollback downgrades the C library. Every binary the upgrade installed may
// need symbols only the newer C library has (bookworm's dash needs GLIBC_2.34); if the
// older C library is unpacked while such a binary is still on disk, the next maintainer
// script that runs /bin/sh fails and dpkg/rpm is left half done. Older binaries run on a
// newer C library, so the safe order is: everything else back to its recorded version
// while the newer C library stays (phase `userland`), then the C library packages
// together, in one transaction whose scripts run once all of them are unpacked
// (phase `c-library`). Each phase is planned from the state the root is in now, so a
// rollback killed half way plans only what is left when it starts again.
import { type InstalledPackage, packageKey } from './package-manager.ts';

export type RestorePhaseName = 'userland' | 'c-library';

export interface RestorePhase {
  name: RestorePhaseName;
  /** Packages to install at exactly these versions (missing, or at another version). */
  install: InstalledPackage[];
  /** Installed packages the recorded set does not have. */
  remove: InstalledPackage[];
}

/** The source packages whose binaries change last (the C library: glibc on Debian and EL). */
export const DEFAULT_LAST_SOURCES: readonly string[] = ['glibc'];

/** Whether a package is built from one of the last sources (its recorded source, else its name). */
export function fromLastSources(p: { name: string; source?: string }, lastSources: readonly string[] = DEFAULT_LAST_SOURCES): boolean {
  return lastSources.includes(p.source || p.name);
}

/**
 * The package's source package: what dpkg/rpm recorded, else (a manifest from before
 * sources were recorded) the same name's source on the root now, else its own name.
 */
function sourceOf(p: InstalledPackage, sourceByName: ReadonlyMap<string, string>): string {
  return p.source || sourceByName.get(p.name) || p.name;
}

export function planRestore(
  manifest: readonly InstalledPackage[],
  installed: readonly InstalledPackage[],
  lastSources: readonly string[] = DEFAULT_LAST_SOURCES,
): RestorePhase[] {
  const sourceByName = new Map<string, string>();
  for (const p of [...manifest, ...installed]) if (p.source) sourceByName.set(p.name, p.source);
  const last = new Set(lastSources);
  const isLast = (p: InstalledPackage): boolean => last.has(sourceOf(p, sourceByName));

  const have = new Map(installed.map((p) => [packageKey(p), p.version]));
  const want = new Set(manifest.map(packageKey));
  const install = manifest.filter((p) => have.get(packageKey(p)) !== p.version);
  const remove = installed.filter((p) => !want.has(packageKey(p)));

  const phases: RestorePhase[] = [
    { name: 'userland', install: install.filter((p) => !isLast(p)), remove: remove.filter((p) => !isLast(p)) },
    { name: 'c-library', install: install.filter(isLast), remove: remove.filter(isLast) },
  ];
  return phases.filter((p) => p.install.length + p.remove.length > 0);
}
