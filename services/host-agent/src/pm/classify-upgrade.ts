// What the upgrade does to every installed package, decided from data the package
// managers print: the source and target repositories' indexes, the simulation of the
// upgrade, and (dnf) the profile's release package swap. Pure: apt-preview.ts and
// dnf-preview.ts gather the data, this decides.
import type { InstalledPackage, PackageChange } from './package-manager.ts';
import { type Relation, relationMatches, type VersionCompare } from './version-compare.ts';

/** One package a repository offers (or the dpkg status holds). */
export interface OfferedPackage {
  name: string;
  arch: string;
  version: string;
  /** The source package (deb Source, rpm SOURCERPM's name); the package's own name when absent. */
  source?: string;
  provides: Relation[];
  /** What it takes the place of: deb Replaces, rpm Obsoletes. */
  replaces: Relation[];
}

/** What the package manager's simulation of the upgrade does. */
export interface SimulatedUpgrade {
  /** Installed or upgraded (downgraded, reinstalled) to `version`. */
  installs: { name: string; arch: string; version: string }[];
  removes: { name: string; arch?: string }[];
  /** Removed package name → the packages its simulation says replace it (dnf's "replacing"). */
  replacedBy?: Map<string, string[]>;
}

export interface ClassifyInput {
  installed: InstalledPackage[];
  /** The source repositories' packages; null when they could not be read (no package is then called foreign). */
  source: OfferedPackage[] | null;
  target: OfferedPackage[];
  plan: SimulatedUpgrade;
  /** The release packages the upgrade swaps outside the simulation (dnf profiles). */
  releaseSwap?: { remove: string[]; install: string[] };
  compare: VersionCompare;
}

/** The architecture-independent name of each format: `all` (deb), `noarch` (rpm). */
const archMatches = (a: string, b: string | undefined): boolean =>
  b === undefined || a === b || a === 'all' || b === 'all' || a === 'noarch' || b === 'noarch';

function byName<T extends { name: string }>(list: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const p of list) {
    const l = m.get(p.name);
    if (l) l.push(p);
    else m.set(p.name, [p]);
  }
  return m;
}

const sourceOf = (p: { name: string; source?: string }): string => p.source || p.name;

/**
 * Every installed package and every new one, with its fate. Order of the decision:
 * swapped release packages and packages the simulation removes while something new
 * takes their place are `replaced`; other removals `removed`; then `upgraded`,
 * `unchanged` (a target candidate exists) or `orphaned` (none); a package whose
 * installed version no source repository offers is `foreign` unless replaced or removed.
 */
export function classifyUpgrade(input: ClassifyInput): PackageChange[] {
  const { installed, plan, compare } = input;
  const target = byName(input.target);
  const source = input.source ? byName(input.source) : null;
  const installedNames = new Set(installed.map((p) => p.name));
  const swapRemove = new Set(input.releaseSwap?.remove ?? []);
  const swapInstall = (input.releaseSwap?.install ?? []).filter((n) => target.has(n));

  const installs = byName(plan.installs);
  const removes = byName(plan.removes);
  // What is new after the upgrade, as the target offers it: the candidates of a replacement.
  const arriving = [
    ...plan.installs.map((i) => target.get(i.name)?.find((o) => o.version === i.version && archMatches(o.arch, i.arch))),
    ...swapInstall.map((n) => target.get(n)?.[0]),
  ].filter((o): o is OfferedPackage => o !== undefined);

  const replacers = (p: InstalledPackage): string[] => {
    const by = new Set(plan.replacedBy?.get(p.name) ?? []);
    for (const o of arriving) {
      if (o.name === p.name) continue;
      const replaces = o.replaces.some((r) => relationMatches(r, p.name, p.version, compare));
      const provides = o.provides.some((r) => r.name === p.name);
      // A renamed build of the same source (libfoo1 → libfoo2) that was not installed before.
      const renamed = !installedNames.has(o.name) && sourceOf(o) === sourceOf(p);
      if (replaces || provides || renamed) by.add(o.name);
    }
    return [...by].sort();
  };

  const out: PackageChange[] = [];
  for (const p of installed) {
    const base = { name: p.name, arch: p.arch, from: p.version };
    const fromSource = !source || (source.get(p.name) ?? []).some((o) => o.version === p.version && archMatches(o.arch, p.arch));
    const atTarget = (target.get(p.name) ?? []).some((o) => o.version === p.version && archMatches(o.arch, p.arch));
    const foreign = !fromSource && !atTarget;
    const removed = (removes.get(p.name) ?? []).some((r) => archMatches(p.arch, r.arch));
    if (swapRemove.has(p.name) && swapInstall.length > 0) {
      out.push({ ...base, fate: 'replaced', by: swapInstall.join(' ') });
      continue;
    }
    if (removed) {
      const by = replacers(p);
      out.push(by.length > 0 ? { ...base, fate: 'replaced', by: by.join(' ') } : { ...base, fate: 'removed' });
      continue;
    }
    const inst = (installs.get(p.name) ?? []).find((i) => archMatches(p.arch, i.arch));
    if (foreign) {
      out.push({ ...base, ...(inst && inst.version !== p.version ? { to: inst.version } : {}), fate: 'foreign' });
    } else if (inst && inst.version !== p.version) {
      out.push({ ...base, to: inst.version, fate: 'upgraded' });
    } else if (inst || (target.get(p.name) ?? []).some((o) => archMatches(o.arch, p.arch))) {
      out.push({ ...base, fate: 'unchanged' });
    } else {
      out.push({ ...base, fate: 'orphaned' });
    }
  }
  const fresh = [
    ...plan.installs.filter((i) => !installedNames.has(i.name)),
    ...swapInstall
      .filter((n) => !installedNames.has(n) && !installs.has(n))
      .map((n) => target.get(n)?.[0] as OfferedPackage)
      .map((o) => ({ name: o.name, arch: o.arch, version: o.version })),
  ];
  for (const i of fresh) out.push({ name: i.name, arch: i.arch, to: i.version, fate: 'new' });
  return out;
}
