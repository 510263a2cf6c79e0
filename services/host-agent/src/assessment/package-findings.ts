// Findings about the packages the upgrade touches, from the package manager's preview:
// only what needs a person's attention. Upgraded, unchanged, new and replaced packages
// (renamed, obsoleted, the release package swapped) are what the upgrade is for.
import type { PackageChange, PackageFate, UpgradePreview } from '../pm/package-manager.ts';
import type { Finding } from './finding.ts';

/** The fates that are findings, each with its wording. */
const REPORTED: {
  fate: PackageFate;
  id: string;
  title: (n: number) => string;
  line: (c: PackageChange) => string;
  remediation: string;
}[] = [
  {
    fate: 'orphaned',
    id: 'packages-not-in-target',
    title: (n) => `${n} installed packages have no candidate in the target release: they stay at their current version, unsupported`,
    line: (c) => `${c.name} ${c.from}`,
    remediation:
      'check whether the business needs them: remove those it does not after the migration; for the others find a replacement in the target release or another supported source',
  },
  {
    fate: 'foreign',
    id: 'packages-foreign',
    title: (n) => `${n} installed packages are not from the source repositories: nothing vouches they work on the target release`,
    line: (c) =>
      `${c.name} ${c.from}${c.to ? ` (the upgrade replaces it with the target's ${c.to}; a package rollback cannot reinstall ${c.from})` : ''}`,
    remediation:
      'check where they come from; add their repository (and its target-release equivalent) to the profile, or keep their package files to reinstall them by hand',
  },
  {
    fate: 'removed',
    id: 'packages-removed',
    title: (n) => `the upgrade removes ${n} packages and nothing takes their place`,
    line: (c) => `${c.name} ${c.from}`,
    remediation: 'check the list; install their replacements after the migration if the business needs them',
  },
];

export function packageFindings(preview: UpgradePreview): Finding[] {
  const out: Finding[] = [];
  for (const r of REPORTED) {
    const cs = preview.changes.filter((c) => c.fate === r.fate).sort((a, b) => a.name.localeCompare(b.name));
    if (cs.length === 0) continue;
    out.push({
      id: r.id,
      severity: 'medium',
      inhibitor: false,
      title: r.title(cs.length),
      detail: cs.map(r.line).join('\n'),
      remediation: r.remediation,
    });
  }
  if (preview.reachable && preview.sourceError) {
    out.push({
      id: 'source-repositories-unreachable',
      severity: 'medium',
      inhibitor: false,
      title: 'the source repositories do not answer: foreign packages are not checked, and a package rollback needs them',
      detail: preview.sourceError,
      remediation: 'check the network path or the mirror configured for the source release',
    });
  }
  return out;
}
