// Findings about the packages the upgrade touches, from the package manager's preview.
import type { UpgradePreview } from '../pm/package-manager.ts';
import type { Finding } from './finding.ts';

export function packageFindings(preview: UpgradePreview): Finding[] {
  const out: Finding[] = [];
  if (preview.notInTarget.length > 0) {
    out.push({
      id: 'packages-not-in-target',
      severity: 'medium',
      inhibitor: false,
      title: `${preview.notInTarget.length} installed packages are not offered by the target release`,
      detail: preview.notInTarget.join(' '),
      remediation: 'they stay at their current version or are removed by the upgrade; check they are not needed by the business',
    });
  }
  if (preview.removals.length > 0) {
    out.push({
      id: 'packages-removed',
      severity: 'medium',
      inhibitor: false,
      title: `the upgrade removes ${preview.removals.length} packages`,
      detail: preview.removals.join(' '),
      remediation: 'check the list; reinstall replacements after the migration if needed',
    });
  }
  return out;
}
