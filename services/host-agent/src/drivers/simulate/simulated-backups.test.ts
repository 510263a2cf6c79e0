// The simulate driver with real backups: the backup step stores an archive the backup
// service's manifest contract accepts, reports its id (the scheduler's gate reads it),
// and the rollback fetches it back; a store that fails fails the step, retryably.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BACKUP_MANIFEST_MEMBER, listTarMembers, manifestMismatch, parseBackupManifest, readTarMember } from '@yixing/common';
import { type BackupStore, FileBackupStore } from '../../backup/backup-store.ts';
import type { StepContext, StepOutcome } from '../driver.ts';
import { stepContext } from '../step-context.testing.ts';
import { defaultSimulateOptions, SimulateDriver } from './simulate.driver.ts';
import { SIMULATED_CONFIG_PATH, SimulatedBackups } from './simulated-backups.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const quick = { ...defaultSimulateOptions, durations: {}, tickMs: 5 };

function context(step: StepContext['step'], data: Map<string, unknown>, backupId = ''): StepContext {
  return stepContext({ hostId: 'sim-01', runId: 'run-1', step, profile: 'centos-7-to-openeuler-22.03', backupId, planId: 'plan-1' }, data);
}

test('the backup step stores a backup the manifest contract accepts, and the rollback fetches it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-sim-store-'));
  dirs.push(dir);
  const store = new FileBackupStore(dir);
  const fetched: string[] = [];
  const watched: BackupStore = {
    put: (meta, file) => store.put(meta, file),
    verify: (id) => store.verify(id),
    get: async (id) => {
      fetched.push(id);
      return store.get(id);
    },
  };
  const driver = new SimulateDriver(quick, new SimulatedBackups({ storeFor: () => watched, release: { id: 'centos', versionId: '7' } }));
  const data = new Map<string, unknown>();

  const backup = (await driver.run(context('backup', data))) as StepOutcome & { report: { backup: { id: string } } };
  assert.equal(backup.ok, true);
  const id = backup.report.backup.id;
  assert.match(id, /^b-/);

  // What the backup service checks before it calls a backup verified.
  const archive = path.join(dir, `${id}.tar`);
  const manifest = parseBackupManifest((await readTarMember(archive, BACKUP_MANIFEST_MEMBER)) as Buffer);
  assert.equal(manifestMismatch(manifest, [SIMULATED_CONFIG_PATH], await listTarMembers(archive)), undefined);
  assert.deepEqual(manifest.osRelease, { id: 'centos', versionId: '7' });

  const rollback = await driver.run(context('rollback', data));
  assert.equal(rollback.ok, true);
  assert.deepEqual(fetched, [id]);
});

test('a store that fails fails the backup step with a retryable BACKUP_FAILED, and a rollback without a backup is unverified', async () => {
  const broken: BackupStore = {
    put: async () => {
      throw new Error('no backup service answered');
    },
    verify: async () => ({ sha256: '' }),
    get: async () => {
      throw new Error('unreachable');
    },
  };
  const driver = new SimulateDriver(quick, new SimulatedBackups({ storeFor: () => broken, release: { id: 'centos', versionId: '7' } }));
  const failed = await driver.run(context('backup', new Map()));
  assert.equal(failed.ok, false);
  assert.equal(!failed.ok && failed.code, 'BACKUP_FAILED');
  assert.equal(!failed.ok && failed.retryable, true);

  const rollback = await driver.run(context('rollback', new Map()));
  assert.equal(!rollback.ok && rollback.code, 'ROLLBACK_UNVERIFIED');
});

test('without backups the simulate driver only takes its time (rehearsals at scale)', async () => {
  const outcome = await new SimulateDriver(quick).run(context('backup', new Map()));
  assert.deepEqual(outcome, { ok: true, report: { simulated: true, durationMs: 0 } });
});
