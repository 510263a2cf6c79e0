// Which data paths the rules named are backed up, and what is not: pure. A path is backed
// up when it exists, no filesystem is mounted on or in it, and it is within the smallest
// size limit of the rules naming it; one inside a path the profile backs up already is in
// the backup with it.
import type { RuleHit } from './evaluate.ts';

/** Data a rule says must be backed up with the configuration (a database's cluster). */
export interface DataPath {
  path: string;
  /** Size on the root when assessed (0 when it does not exist). */
  bytes: number;
  /** The rules that named it. */
  rule: string;
  /** It goes into the backup. */
  backup: boolean;
  /** Why it does not. */
  reason?: string;
}

export interface BackupScope {
  dataPaths: DataPath[];
  /** What a rollback will not put back, said plainly. */
  notBackedUp: string[];
  /** A path a rule cares about is not backed up (not merely data no rule knows). */
  ruleDataLeftOut: boolean;
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`;

export const isWithin = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);

/** The paths to archive: the profile's and the backed-up data paths, none inside another. */
export function backupPathList(profilePaths: string[], dataPaths: Pick<DataPath, 'path' | 'backup'>[]): string[] {
  const all = [...new Set([...profilePaths, ...dataPaths.filter((d) => d.backup).map((d) => d.path)])].sort();
  return all.filter((p) => !all.some((q) => q !== p && isWithin(p, q)));
}

export function planBackupScope(
  hits: RuleHit[],
  /** Size of each named path on the root, and a mount on or in it; null when it does not exist. */
  sizes: ReadonlyMap<string, { bytes: number; mountPoint: string | null } | null>,
  profilePaths: string[],
  enabledServices: string[],
): BackupScope {
  const named = new Map<string, { rules: string[]; maxBytes: number }>();
  for (const h of hits)
    for (const p of h.dataPaths) {
      const e = named.get(p) ?? { rules: [], maxBytes: Number.POSITIVE_INFINITY };
      e.rules.push(h.rule.id);
      e.maxBytes = Math.min(e.maxBytes, h.rule.maxBackupMiB * MiB);
      named.set(p, e);
    }
  const dataPaths: DataPath[] = [...named.entries()].map(([p, { rules, maxBytes }]) => {
    const measured = sizes.get(p) ?? null;
    const bytes = measured?.bytes ?? 0;
    const base = { path: p, bytes, rule: rules.join(', ') };
    const inProfile = profilePaths.find((q) => isWithin(p, q));
    if (inProfile) return { ...base, backup: true, reason: `inside ${inProfile}, backed up with it` };
    if (measured === null) return { ...base, backup: false, reason: 'it does not exist' };
    // The restore swaps the whole directory by renames and removes the replaced copy: a
    // mount point refuses the rename, and a mount inside would be emptied with the copy.
    if (measured.mountPoint)
      return {
        ...base,
        backup: false,
        reason: `a filesystem is mounted ${measured.mountPoint === p ? 'on it' : `at ${measured.mountPoint}`}: back it up with a snapshot of that volume`,
      };
    if (bytes > maxBytes)
      return { ...base, backup: false, reason: `${mib(bytes)}, more than the ${mib(maxBytes)} a backup of it may take` };
    return { ...base, backup: true };
  });
  const notBackedUp: string[] = [];
  let ruleDataLeftOut = false;
  for (const d of dataPaths)
    if (!d.backup && sizes.get(d.path)) {
      notBackedUp.push(`${d.path} (named by ${d.rule}): ${d.reason}`);
      ruleDataLeftOut = true;
    }
  for (const h of hits)
    for (const p of h.badDataPaths) {
      notBackedUp.push(`${p} (named by ${h.rule.id}): not a path below the root`);
      ruleDataLeftOut = true;
    }
  // A service's data is covered when a rule that names it had a data path backed up.
  const covering = hits
    .filter((h) => h.dataPaths.some((p) => dataPaths.find((d) => d.path === p)?.backup))
    .flatMap((h) => h.rule.services.map((s) => new RegExp(s)));
  const uncovered = enabledServices.filter((s) => !covering.some((re) => re.test(s)));
  if (uncovered.length > 0) {
    notBackedUp.push(
      `anything outside ${backupPathList(profilePaths, dataPaths).join(', ')}; that includes whatever data the enabled services no rule knows keep elsewhere (${uncovered.join(', ')})`,
    );
  }
  return { dataPaths, notBackedUp, ruleDataLeftOut };
}
