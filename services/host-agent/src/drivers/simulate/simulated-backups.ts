// Real backups for simulated hosts: each backup step archives a small synthetic
// configuration tree of its host (with the same archive code and manifest contract as a
// real host) and stores it through a real BackupStore, normally the backup service, so a
// rehearsal or the demo fleet exercises the upload, verification, catalogue and the
// scheduler's backup gate; a simulated rollback fetches its backup back, checked.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBackupArchive } from '../../backup/backup-archive.ts';
import type { BackupRecord, BackupStore } from '../../backup/backup-store.ts';
import { HostRoot } from '../../os/host-root.ts';
import type { StepContext } from '../driver.ts';

/** The path a simulated host backs up. */
export const SIMULATED_CONFIG_PATH = '/etc/yixing-sim';

export interface SimulatedBackupsOptions {
  /** The store of one host (a BusBackupStore per host on the bus). */
  storeFor(hostId: string): BackupStore;
  /** The release the simulated hosts report in their manifest. */
  release: { id: string; versionId: string };
}

export interface BackupRef {
  id: string;
  sha256: string;
}

export class SimulatedBackups {
  readonly #o: SimulatedBackupsOptions;

  constructor(opts: SimulatedBackupsOptions) {
    this.#o = opts;
  }

  /** Archives the host's synthetic configuration and stores it; the store verifies it. */
  async backup(ctx: Pick<StepContext, 'hostId' | 'runId' | 'planId' | 'profile' | 'runData'>): Promise<BackupRecord> {
    const work = await mkdtemp(path.join(tmpdir(), 'yx-sim-backup-'));
    try {
      const root = new HostRoot(path.join(work, 'root'));
      await mkdir(root.at(SIMULATED_CONFIG_PATH), { recursive: true });
      await writeFile(root.at(`${SIMULATED_CONFIG_PATH}/host.conf`), `host=${ctx.hostId}\nrun=${ctx.runId}\n`);
      const file = path.join(work, 'backup.tar');
      await createBackupArchive(
        root,
        [SIMULATED_CONFIG_PATH],
        {
          manifest: [{ name: `${this.#o.release.id}-release`, arch: 'x86_64', version: this.#o.release.versionId, held: false }],
          services: [],
          osRelease: this.#o.release,
        },
        file,
      );
      const store = this.#o.storeFor(ctx.hostId);
      const record = await store.put(
        {
          hostId: ctx.hostId,
          runId: ctx.runId,
          planId: ctx.planId,
          profile: ctx.profile,
          paths: [SIMULATED_CONFIG_PATH],
          manifestSha256: '',
        },
        file,
      );
      await ctx.runData.set('backup', { id: record.id, sha256: record.sha256 } satisfies BackupRef);
      return record;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Fetches the run's backup for a rollback, checked by the store, and releases the copy. */
  async restore(ctx: Pick<StepContext, 'hostId' | 'backupId' | 'runData'>): Promise<string> {
    const id = ctx.runData.get<BackupRef>('backup')?.id ?? ctx.backupId;
    if (!id) throw new Error('no backup of this run to roll back from');
    const fetched = await this.#o.storeFor(ctx.hostId).get(id);
    await fetched.release();
    return id;
  }
}
