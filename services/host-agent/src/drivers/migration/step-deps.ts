// What every step of the real migration driver shares: its dependencies, the failure
// shape and the backup the run relies on.
import { FailureKind } from '@yixing/common/base';
import type { BackupStore } from '../../backup/backup-store.ts';
import type { KnowledgeRule } from '../../knowledge/rule.ts';
import type { DurableFs } from '../../os/durable-file.ts';
import type { HostRoot } from '../../os/host-root.ts';
import type { PackageManager } from '../../pm/package-manager.ts';
import type { Profile } from '../../profiles/profile.ts';
import type { WorkloadDeps } from '../../workloads/workload-steps.ts';
import type { StepContext, StepOutcome } from '../driver.ts';

export interface MigrationDriverDeps {
  name: 'apt' | 'dnf';
  root: HostRoot;
  hostId: string;
  profiles: Map<string, Profile>;
  store: BackupStore;
  packageManager(profile: Profile): PackageManager;
  /** The knowledge rules the assessment evaluates (shipped and the site's); absent: the shipped ones. */
  knowledgeRules?: KnowledgeRule[];
  /** The file system restores write through (fault tests stop the process mid-way). */
  fs?: DurableFs;
  /** The site's workload hooks and how their CLIs run (drain, undrain, the post-check). */
  workloads?: WorkloadDeps;
}

export interface BackupRef {
  id: string;
  sha256: string;
}

export const fail = (code: string, message: string, report?: unknown, retryable = false): StepOutcome => ({
  ok: false,
  code,
  message,
  retryable,
  kind: FailureKind.EXECUTION,
  ...(report === undefined ? {} : { report }),
});

export async function verifiedBackup(d: MigrationDriverDeps, ctx: StepContext): Promise<BackupRef | undefined> {
  const ref = ctx.runData.get<BackupRef>('backup') ?? (ctx.backupId ? { id: ctx.backupId, sha256: '' } : undefined);
  if (!ref) return undefined;
  const { sha256 } = await d.store.verify(ref.id);
  if (ref.sha256 && ref.sha256 !== sha256) throw new Error(`backup ${ref.id} changed since it was verified`);
  return ref;
}
