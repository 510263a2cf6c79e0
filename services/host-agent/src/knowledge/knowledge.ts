// Knowledge rules: what a site knows about the software on its hosts (database majors,
// Python 2, dropped kernel modules, interface naming, third-party repositories, services),
// as data files (rule.ts) evaluated (evaluate.ts) against facts read from the root
// (facts.ts). The data paths the rules name are measured here and backed up with the
// configuration; what is not backed up is said in a finding.
import type { Finding } from '../assessment/finding.ts';
import type { StepContext } from '../drivers/driver.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { InstalledPackage, UpgradePreview } from '../pm/package-manager.ts';
import type { Profile } from '../profiles/profile.ts';
import { type DataPath, planBackupScope } from './data-paths.ts';
import { evaluateRules, ruleApplies } from './evaluate.ts';
import { gatherFacts, measurePath, type PathMeasure } from './facts.ts';
import { type KnowledgeRule, loadKnowledgeRules } from './rule.ts';

export type { DataPath } from './data-paths.ts';

export interface KnowledgeInput {
  root: HostRoot;
  profile: Profile;
  installed: InstalledPackage[];
  preview: UpgradePreview | null;
  /** Running services, null where no service manager runs (a chroot). */
  running: string[] | null;
  /** The rules to evaluate; absent: the shipped ones. */
  rules?: KnowledgeRule[];
}

export interface KnowledgeResult {
  findings: Finding[];
  dataPaths: DataPath[];
  /** What a rollback will not put back. */
  notBackedUp: string[];
  /** Services enabled in the root before the migration (to compare after it). */
  enabledServices: string[];
}

export async function evaluateKnowledge(input: KnowledgeInput, ctx: StepContext): Promise<KnowledgeResult> {
  const rules = (input.rules ?? (await loadKnowledgeRules())).filter((r) => ruleApplies(r, input.profile));
  const facts = await gatherFacts(input, rules);
  const hits = evaluateRules(rules, facts, input.profile);
  const sizes = new Map<string, PathMeasure | null>();
  for (const p of new Set(hits.flatMap((h) => h.dataPaths))) sizes.set(p, await measurePath(input.root, p));
  const scope = planBackupScope(hits, sizes, input.profile.backup.paths, facts.services.enabled);
  const findings = hits.flatMap((h) => h.findings);
  if (scope.notBackedUp.length > 0)
    findings.push({
      id: 'data-not-backed-up',
      severity: scope.ruleDataLeftOut ? 'medium' : 'info',
      inhibitor: false,
      title: `not in the backup, so not put back by a rollback: ${scope.notBackedUp.length === 1 ? scope.notBackedUp[0] : `${scope.notBackedUp.length} items`}`,
      detail: scope.notBackedUp.join('\n'),
      remediation: scope.ruleDataLeftOut
        ? "back that data up yourself before migrating (a database dump, a snapshot of its volume), or raise the rule's maxBackupMiB"
        : 'back up data the backup does not hold yourself, or add a knowledge rule naming its path',
    });
  for (const d of scope.dataPaths)
    ctx.log(`data path ${d.path} (${d.rule}): ${d.bytes} bytes, ${d.backup ? 'backed up' : `not backed up: ${d.reason}`}`, 'agent');
  return { findings, dataPaths: scope.dataPaths, notBackedUp: scope.notBackedUp, enabledServices: facts.services.enabled };
}
