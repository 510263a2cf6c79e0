// The real driver: each step of an in-place migration on a root, with a package manager
// (apt or dnf) doing the package work. Nothing on the root changes before its backup is
// verified; a rollback restores the recorded package set and configuration and then
// proves it, or says it could not.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FailureKind } from '@yixing/common';
import { type AssessmentReport, assess, runningServices } from '../assessment/assessment.ts';
import {
  type BackupContents,
  createBackupArchive,
  finishInterruptedRestore,
  readBackupContents,
  restorePaths,
} from '../backup/backup-archive.ts';
import type { BackupStore, FetchedBackup } from '../backup/backup-store.ts';
import type { DurableFs } from '../os/durable-file.ts';
import type { HostRoot } from '../os/host-root.ts';
import { diffPackages, type PackageManager } from '../pm/package-manager.ts';
import type { Profile } from '../profiles/profile.ts';
import type { Driver, StepContext, StepOutcome } from './driver.ts';

export interface MigrationDriverDeps {
  name: 'apt' | 'dnf';
  root: HostRoot;
  hostId: string;
  profiles: Map<string, Profile>;
  store: BackupStore;
  packageManager(profile: Profile): PackageManager;
  /** The file system restores write through (fault tests stop the process mid-way). */
  fs?: DurableFs;
}

interface BackupRef {
  id: string;
  sha256: string;
}

const fail = (code: string, message: string, report?: unknown, retryable = false): StepOutcome => ({
  ok: false,
  code,
  message,
  retryable,
  kind: FailureKind.EXECUTION,
  ...(report === undefined ? {} : { report }),
});

export class MigrationDriver implements Driver {
  readonly name: 'apt' | 'dnf';
  readonly #d: MigrationDriverDeps;

  constructor(deps: MigrationDriverDeps) {
    this.name = deps.name;
    this.#d = deps;
  }

  async run(ctx: StepContext): Promise<StepOutcome> {
    const profile = this.#d.profiles.get(ctx.profile);
    if (!profile) return fail('PROFILE_UNKNOWN', `no profile ${ctx.profile} on this host (${[...this.#d.profiles.keys()].join(', ')})`);
    if (profile.driver !== this.name)
      return fail('PROFILE_DRIVER_MISMATCH', `profile ${profile.name} needs the ${profile.driver} driver, this agent runs ${this.name}`);
    const pm = this.#d.packageManager(profile);
    switch (ctx.step) {
      case 'cluster-check':
        ctx.log('no host-local cluster checks; the plan probe ran before this step', 'agent');
        return { ok: true };
      case 'precheck':
        return this.#precheck(ctx, profile, pm);
      case 'backup':
        return ctx.dryRun ? { ok: true, report: { dryRun: true } } : this.#backup(ctx, profile, pm);
      case 'upgrade':
        return ctx.dryRun ? { ok: true, report: { dryRun: true } } : this.#upgrade(ctx, pm);
      case 'postcheck':
        return this.#postcheck(ctx, profile, pm);
      case 'rollback':
        return this.#rollback(ctx, pm);
      case 'reboot':
        return { ok: true, report: { note: 'reboots are done by the agent' } };
    }
  }

  async #precheck(ctx: StepContext, profile: Profile, pm: PackageManager): Promise<StepOutcome> {
    const report: AssessmentReport = await assess(this.#d.root, profile, pm, ctx);
    ctx.log(report.summary, report.inhibitors > 0 ? 'stderr' : 'agent');
    if (report.inhibitors > 0) return fail('PRECHECK_INHIBITED', report.summary, report);
    return { ok: true, report };
  }

  async #backup(ctx: StepContext, profile: Profile, pm: PackageManager): Promise<StepOutcome> {
    const root = this.#d.root;
    const paths = profile.backup.paths;
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
      const record = await this.#d.store.put(
        { hostId: this.#d.hostId, runId: ctx.runId, planId: ctx.planId, profile: profile.name, paths, manifestSha256: '' },
        file,
      );
      // Only a backup the store vouches for counts.
      if ((await this.#d.store.verify(record.id)).sha256 !== record.sha256)
        throw new Error(`backup ${record.id} is not stored as it was made`);
      await ctx.runData.set('backup', { id: record.id, sha256: record.sha256 } satisfies BackupRef);
      await ctx.runData.set('services', services);
      ctx.log(`backup ${record.id} verified: ${record.sizeBytes} bytes, sha256 ${record.sha256}`, 'agent');
      return { ok: true, report: { backup: record, packages: manifest.length, digests: contents.digests } };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async #verifiedBackup(ctx: StepContext): Promise<BackupRef | undefined> {
    const ref = ctx.runData.get<BackupRef>('backup') ?? (ctx.backupId ? { id: ctx.backupId, sha256: '' } : undefined);
    if (!ref) return undefined;
    const { sha256 } = await this.#d.store.verify(ref.id);
    if (ref.sha256 && ref.sha256 !== sha256) throw new Error(`backup ${ref.id} changed since it was verified`);
    return ref;
  }

  async #upgrade(ctx: StepContext, pm: PackageManager): Promise<StepOutcome> {
    let backup: BackupRef | undefined;
    try {
      backup = await this.#verifiedBackup(ctx);
    } catch (err) {
      return fail('BACKUP_UNVERIFIED', `the backup does not verify; nothing was changed: ${(err as Error).message}`);
    }
    if (!backup) return fail('BACKUP_MISSING', 'no verified backup for this run; nothing was changed');
    const resume = ctx.resumed || ctx.runData.get<boolean>('upgrade-started') === true;
    await ctx.runData.set('upgrade-started', true);
    ctx.log(resume ? 'upgrade interrupted earlier: resuming it' : `upgrading with backup ${backup.id} verified`, 'agent');
    const { transaction } = await pm.upgrade(ctx, resume);
    await ctx.runData.set('upgrade-done', true);
    return { ok: true, report: { backup: backup.id, resumed: resume, transaction } };
  }

  async #postcheck(ctx: StepContext, profile: Profile, pm: PackageManager): Promise<StepOutcome> {
    const root = this.#d.root;
    const problems: string[] = [];
    const os = await root.osRelease();
    const reached =
      os.id === profile.target.id && (os.versionId === profile.target.version || os.versionId.startsWith(`${profile.target.version}.`));
    if (!reached && !ctx.dryRun)
      problems.push(`os-release says ${os.id} ${os.versionId}, expected ${profile.target.id} ${profile.target.version}`);
    const before = ctx.runData.get<string[]>('services') ?? [];
    const now = await runningServices(root);
    if (now !== null) {
      for (const s of new Set([...before, ...profile.services])) if (!now.includes(s)) problems.push(`service ${s} is not running`);
    } else {
      ctx.log('no service manager in this root: services not checked', 'agent');
    }
    const installed = new Set((await pm.installed()).map((p) => p.name));
    for (const check of profile.checks) {
      if (check.kind === 'file-exists' && !root.exists(check.path)) problems.push(`check ${check.id}: ${check.path} does not exist`);
      if (check.kind === 'package-installed' && !installed.has(check.name))
        problems.push(`check ${check.id}: package ${check.name} is not installed`);
      if (check.kind === 'command') {
        const r = await root.exec(check.argv, { signal: ctx.signal });
        if (r.code !== 0) problems.push(`check ${check.id}: ${check.argv.join(' ')} exited with ${r.code}`);
      }
    }
    const report = { osRelease: { id: os.id, versionId: os.versionId }, servicesBefore: before, servicesNow: now, problems };
    for (const p of problems) ctx.log(`postcheck: ${p}`, 'stderr');
    if (problems.length > 0) return fail('POSTCHECK_FAILED', problems.join('; '), report);
    ctx.log(`postcheck passed: ${os.prettyName || `${os.id} ${os.versionId}`}`, 'agent');
    return { ok: true, report };
  }

  async #rollback(ctx: StepContext, pm: PackageManager): Promise<StepOutcome> {
    const root = this.#d.root;
    let backup: BackupRef | undefined;
    try {
      backup = await this.#verifiedBackup(ctx);
    } catch (err) {
      return fail('ROLLBACK_UNVERIFIED', `critical: the backup cannot be used: ${(err as Error).message}`);
    }
    if (!backup) {
      if (ctx.runData.get('upgrade-started'))
        return fail('ROLLBACK_UNVERIFIED', 'critical: the upgrade started but there is no backup to restore');
      return { ok: true, report: { note: 'nothing was changed; nothing to restore' } };
    }
    let fetched: FetchedBackup;
    try {
      fetched = await this.#d.store.get(backup.id);
    } catch (err) {
      return fail('ROLLBACK_UNVERIFIED', `critical: the backup cannot be fetched: ${(err as Error).message}`);
    }
    let contents: BackupContents;
    try {
      contents = await readBackupContents(fetched.file);
      // A restore this rollback began before a crash may have left the root without /etc.
      for (const note of await finishInterruptedRestore(root, contents, this.#d.fs)) ctx.log(note, 'agent');
      ctx.progress(10, `restoring ${contents.manifest.length} packages from backup ${backup.id}`);
      await pm.restore(contents.manifest, ctx);
      ctx.progress(70, 'packages restored; restoring configuration');
      await restorePaths(root, fetched.file, contents, this.#d.fs);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      return fail('ROLLBACK_UNVERIFIED', `critical: rollback did not complete: ${(err as Error).message}`);
    } finally {
      await fetched.release();
    }
    // Prove it: the same release, the same packages, the same configuration.
    const os = await root.osRelease();
    const diff = diffPackages(contents.manifest, await pm.installed());
    const problems = [
      ...(os.id !== contents.osRelease.id || os.versionId !== contents.osRelease.versionId
        ? [`os-release says ${os.id} ${os.versionId}, the backup was of ${contents.osRelease.id} ${contents.osRelease.versionId}`]
        : []),
      ...(diff.missing.length ? [`missing packages: ${diff.missing.join(' ')}`] : []),
      ...(diff.extra.length ? [`extra packages: ${diff.extra.join(' ')}`] : []),
      ...(diff.changed.length ? [`packages at other versions: ${diff.changed.join(', ')}`] : []),
    ];
    const report = { backup: backup.id, osRelease: { id: os.id, versionId: os.versionId }, packages: contents.manifest.length, problems };
    if (problems.length > 0) return fail('ROLLBACK_UNVERIFIED', `critical: rollback could not be verified: ${problems.join('; ')}`, report);
    ctx.log(
      `rollback verified: ${os.id} ${os.versionId}, ${contents.manifest.length} packages as recorded, configuration as backed up`,
      'agent',
    );
    return { ok: true, report };
  }
}
