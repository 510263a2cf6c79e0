// Reading what dnf knows, as data: `dnf repoquery` in a format of our own (one record
// per package, its multi-valued tags on lines of their own between markers) and the
// transaction table of a simulated (`--assumeno`) transaction.
import type { OfferedPackage, SimulatedUpgrade } from './classify-upgrade.ts';
import type { Relation } from './version-compare.ts';

/** `--qf` of every repoquery here: `@@` starts a package, `##` a list (dnf joins list tags with newlines). */
export const REPOQUERY_FORMAT =
  '@@%{name}\t%{arch}\t%{epoch}:%{version}-%{release}\t%{sourcerpm}\n##obsoletes\n%{obsoletes}\n##provides\n%{provides}';

const RPM_OPS = new Set(['<', '<=', '=', '>=', '>']);

/** "old-tool < 2.0" → a relation; rich dependencies, sonames and paths are not package names: null. */
export function parseRpmRelation(text: string): Relation | null {
  const [name, op, version] = text.trim().split(/\s+/);
  if (!name || /[()/]/.test(name)) return null;
  if (op && version && RPM_OPS.has(op)) return { name, op: op as Relation['op'], version };
  return { name };
}

/** "libfoo-2.0-1.oe2203.src.rpm" → "libfoo". */
export const sourceRpmName = (srpm: string): string | undefined => /^(.+)-[^-]+-[^-]+\.(?:no)?src\.rpm$/.exec(srpm)?.[1];

/** `repoquery --qf REPOQUERY_FORMAT` output, fed one line at a time (a full repository is large). */
export class RepoqueryReader {
  readonly packages: OfferedPackage[] = [];
  #list: 'obsoletes' | 'provides' | null = null;

  line(line: string): void {
    if (line.startsWith('@@')) {
      const [name, arch, version, srpm] = line.slice(2).split('\t');
      if (!name || !arch || !version) return;
      const source = sourceRpmName(srpm ?? '');
      this.packages.push({ name, arch, version, ...(source ? { source } : {}), provides: [], replaces: [] });
      this.#list = null;
      return;
    }
    if (line === '##obsoletes' || line === '##provides') {
      this.#list = line === '##obsoletes' ? 'obsoletes' : 'provides';
      return;
    }
    const current = this.packages[this.packages.length - 1];
    const rel = this.#list && current ? parseRpmRelation(line) : null;
    if (!rel || !current) return;
    (this.#list === 'obsoletes' ? current.replaces : current.provides).push(rel);
  }
}

export function parseRepoquery(text: string): OfferedPackage[] {
  const r = new RepoqueryReader();
  for (const line of text.split('\n')) r.line(line);
  return r.packages;
}

/** dnf prints versions without a zero epoch; rpm queries here always carry one. */
const withEpoch = (v: string): string => (v.includes(':') ? v : `0:${v}`);

const INSTALLING = /^(Installing|Upgrading|Downgrading|Reinstalling|Installing dependencies|Installing weak dependencies)$/;
const REMOVING = /^(Removing|Removing dependent packages|Removing unused dependencies)$/;

/**
 * The transaction table of `dnf --assumeno …`: a section header (`Upgrading:`), then one
 * package a line (` name arch version repo size`; a long name may wrap to a deeper
 * indented line) and `replacing name.arch version` under the package that obsoletes it
 * (a removal too).
 */
export function parseDnfTransaction(text: string): SimulatedUpgrade {
  const plan: SimulatedUpgrade = { installs: [], removes: [], replacedBy: new Map() };
  let section: 'install' | 'remove' | null = null;
  let entry: string[] | null = null;
  const flush = (): void => {
    if (entry && entry.length >= 3 && section) {
      const [name, arch, version] = entry as [string, string, string];
      if (section === 'install') plan.installs.push({ name, arch, version: withEpoch(version) });
      else plan.removes.push({ name, arch });
    }
    entry = null;
  };
  for (const line of text.split('\n')) {
    const header = /^(\S.*):$/.exec(line)?.[1];
    if (header !== undefined || line.trim() === '' || /^=+$/.test(line)) {
      flush();
      if (header !== undefined) section = INSTALLING.test(header) ? 'install' : REMOVING.test(header) ? 'remove' : null;
      else if (line.trim() === '') section = null;
      continue;
    }
    if (!section) continue;
    const replacing = /^\s+replacing\s+(\S+)\.([^.\s]+)\s/.exec(line);
    if (replacing) {
      const by = (entry as string[] | null)?.[0] ?? plan.installs[plan.installs.length - 1]?.name;
      flush();
      // An obsoleted package leaves with the transaction though no removal section lists it.
      const name = replacing[1] as string;
      const arch = replacing[2] as string;
      plan.removes.push({ name, arch });
      if (by) plan.replacedBy?.set(name, [...(plan.replacedBy?.get(name) ?? []), by]);
      continue;
    }
    if (/^ \S/.test(line)) {
      flush();
      entry = line.trim().split(/\s+/);
    } else if (entry) {
      entry.push(...line.trim().split(/\s+/));
    }
  }
  flush();
  return plan;
}
