// The backup step: the profile's paths, the data paths the assessment's knowledge rules
// named, and the package manifest, archived, stored and vouched for by the store before
// anything is changed. A rollback restores every archived path.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runningServices } from '../../assessment/assessment.ts';
import { createBackupArchive } from '../../backup/backup-archive.ts';
import { backupPathList, type DataPath } from '../../knowledge/data-paths.ts';
import type { PackageManager } from '../../pm/package-manager.ts';
import type { Profile } from '../../profiles/profile.ts';
import type { StepContext, StepOutcome } from '../driver.ts';

import type { BackupRef, MigrationDriverDeps } from './step-deps.ts';

export async function backupStep(d: MigrationDriverDeps, ctx: StepContext, profile: Profile, pm: PackageManager): Promise<StepOutcome> {
  const root = d.root;
  // Data paths gone since the assessment (nothing to keep) are left out; tar needs each path.
  const data = (ctx.runData.get<DataPath[]>('dataPaths') ?? []).filter((p) => p.backup);
  for (const p of data.filter((p) => !root.exists(p.path))) ctx.log(`data path ${p.path} no longer exists: not backed up`, 'agent');
  const paths = backupPathList(
    profile.backup.paths,
    data.filter((p) => root.exists(p.path)),
  );
  const work = await mkdtemp(path.join(tmpdir(), 'yx-backup-'));
  try {
    const manifest = await pm.installed();
    const os = await root.osRelease();
    const services = (await runningServices(root)) ?? [];
    ctx.progress(20, `archiving ${paths.join(', ')} and a manifest of ${manifest.length} packages`);
    const file = path.join(work, 'backup.tar');
    const contents = await createBackupArchive(
      root,
      paths,
      { manifest, services, osRelease: { id: os.id, versionId: os.versionId } },
      file,
    );
    ctx.progress(60, 'archive written; storing and verifying');
    const record = await d.store.put(
      { hostId: d.hostId, runId: ctx.runId, planId: ctx.planId, profile: profile.name, paths, manifestSha256: contents.manifestSha256 },
      file,
    );
    // Only a backup the store vouches for counts.
    if ((await d.store.verify(record.id)).sha256 !== record.sha256) throw new Error(`backup ${record.id} is not stored as it was made`);
    await ctx.runData.set('backup', { id: record.id, sha256: record.sha256 } satisfies BackupRef);
    await ctx.runData.set('services', services);
    ctx.log(`backup ${record.id} verified: ${record.sizeBytes} bytes, sha256 ${record.sha256}`, 'agent');
    return { ok: true, report: { backup: record, packages: manifest.length, digests: contents.digests } };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
