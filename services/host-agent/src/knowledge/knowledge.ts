// Knowledge rules: what a site knows about the software on its hosts (database majors,
// Python 2, dropped kernel modules, interface naming, third-party repositories, services),
// as data files evaluated against facts read from the root. Interim: no rules yet.
import type { Finding } from '../assessment/finding.ts';
import type { StepContext } from '../drivers/driver.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { InstalledPackage, UpgradePreview } from '../pm/package-manager.ts';
import type { Profile } from '../profiles/profile.ts';

/** Data a rule says must be backed up with the configuration (a database's cluster). */
export interface DataPath {
  path: string;
  /** Size on the root when assessed. */
  bytes: number;
  /** The rule that named it. */
  rule: string;
}

export interface KnowledgeInput {
  root: HostRoot;
  profile: Profile;
  installed: InstalledPackage[];
  preview: UpgradePreview | null;
  /** Running services, null where no service manager runs (a chroot). */
  running: string[] | null;
}

export interface KnowledgeResult {
  findings: Finding[];
  dataPaths: DataPath[];
}

export async function evaluateKnowledge(_input: KnowledgeInput, _ctx: StepContext): Promise<KnowledgeResult> {
  return { findings: [], dataPaths: [] };
}
