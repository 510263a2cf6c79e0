// A backup cannot be turned into root on a host. The backup service (real NATS, FerretDB)
// never verifies an archive whose manifest escapes the root or names an option as a
// package; and should a forged archive reach an agent anyway (a compromised store), its
// rollback refuses it before anything on the root changes: no package command runs and
// the root (and what a symlink in it points at) hashes the same before and after.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BackupApp } from '@yixing/backup';
import { BACKUP_MANIFEST_MEMBER, type BackupManifest, Bus, connectBus, connectDb, createRegistry, silentLogger } from '@yixing/common';
import {
  type BackupStore,
  BUILTIN_PROFILES_DIR,
  BusBackupStore,
  HostRoot,
  loadProfiles,
  MigrationDriver,
  mustRun,
  type PackageManager,
  sha256File,
  stepContext,
  treeDigest,
} from '@yixing/host-agent/internal';
import type { Connection } from 'mongoose';
import { makeArchive, randomFile, scratchDir } from '../fixtures/archives.ts';
import { startBackupService } from '../fixtures/backup-service.ts';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';

let nats: NatsFixture;
let mongo: MongoFixture;
let nc: NatsConnection;
let conn: Connection;
let service: BackupApp;
let dir: string;
let payload: string;
const HOST = 'forged-01';

before(async () => {
  [nats, mongo, dir] = await Promise.all([startNats(), startMongo(), scratchDir('yx-forged-')]);
  nc = await connectBus({ servers: nats.url, name: 'forged-backup-test' });
  conn = await connectDb({ uri: mongo.uri('forged'), appName: 'forged-backup-test' });
  service = await startBackupService({ conn: conn, nc: nc, bucket: 'forged' });
  payload = await randomFile(dir, 16 * 1024);
});

after(async () => {
  await service?.stop();
  await nc?.drain();
  await conn?.close();
  await Promise.all([nats?.stop(), mongo?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const store = (): BusBackupStore =>
  new BusBackupStore({
    bus: new Bus({ nc, log: silentLogger(), registry: createRegistry('agent', { processMetrics: false }) }),
    hostId: HOST,
    uploadAttempts: 1,
  });

/** An archive holding only a manifest, as anyone could write one. */
async function forgedArchive(name: string, manifest: Partial<BackupManifest>): Promise<string> {
  const meta = path.join(dir, `${name}.meta`);
  await mkdir(path.join(meta, 'yixing'), { recursive: true });
  const full: BackupManifest = {
    manifest: [{ name: 'base-files', arch: 'amd64', version: '11.1+deb11u9', held: false }],
    services: [],
    osRelease: { id: 'debian', versionId: '11' },
    digests: { '/etc': 'sha256:00' },
    ...manifest,
  };
  await writeFile(path.join(meta, BACKUP_MANIFEST_MEMBER), JSON.stringify(full));
  const file = path.join(dir, `${name}.tar`);
  await mustRun(['tar', '-cf', file, '-C', meta, 'yixing']);
  return file;
}

const FORGED: [string, Partial<BackupManifest>, RegExp][] = [
  ['dotdot', { digests: { '/../outside/cron.d': 'sha256:00' } }, /"\/\.\.\/outside\/cron\.d" has a `\.\.` segment/],
  ['option', { manifest: [{ name: '--foo', arch: 'amd64', version: '1', held: false }] }, /name "--foo" is not a package name/],
  ['empty', { manifest: [] }, /manifest lists no packages/],
];

test('the backup service never verifies a manifest that escapes the root, names an option or lists no package', async () => {
  for (const [name, manifest, message] of FORGED) {
    const file = await forgedArchive(name, manifest);
    await assert.rejects(
      store().put(
        {
          hostId: HOST,
          runId: `run-${name}`,
          profile: 'debian-11-to-12',
          paths: Object.keys(manifest.digests ?? { '/etc': '' }),
          manifestSha256: '',
        },
        file,
      ),
      (e: unknown) => e instanceof Error && /could not be verified/.test(e.message) && message.test(e.message),
    );
  }
});

/** The rollback step of the real driver on `root`, with `backups` as its store and a package manager that must not be used. */
async function rollback(root: HostRoot, backups: BackupStore, backupId: string) {
  const restores: unknown[] = [];
  const pm = {
    name: 'apt',
    cacheDir: 'var/cache/apt/archives',
    installed: async () => [],
    restore: async (manifest: unknown) => void restores.push(manifest),
  } as unknown as PackageManager;
  const driver = new MigrationDriver({
    name: 'apt',
    root,
    hostId: HOST,
    profiles: await loadProfiles(BUILTIN_PROFILES_DIR),
    store: backups,
    packageManager: () => pm,
  });
  const ctx = stepContext(
    { hostId: HOST, runId: 'run-rollback', step: 'rollback', profile: 'debian-11-to-12', backupId },
    new Map([['upgrade-started', true]]),
  );
  return { outcome: await driver.run(ctx), restores };
}

/** A root whose /etc is a symlink to a directory outside it (on a real host: the host's own /etc). */
async function symlinkedRoot(name: string): Promise<{ root: HostRoot; outside: string }> {
  const outside = path.join(dir, `${name}-outside-etc`);
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(outside, 'hostname'), 'the host\n');
  const root = new HostRoot(path.join(dir, `${name}-root`));
  await mkdir(root.path, { recursive: true });
  await symlink(outside, root.at('etc'));
  return { root, outside };
}

test("a verified backup whose path runs through a symlink out of the agent's root is refused; nothing changes", async () => {
  // A genuine backup of /etc/payload, verified and catalogued by the service.
  const file = await makeArchive(dir, 'through-link', payload, { digests: { '/etc/payload': `sha256:${randomBytes(8).toString('hex')}` } });
  const agent = store();
  const rec = await agent.put(
    { hostId: HOST, runId: 'run-link', profile: 'debian-11-to-12', paths: ['/etc/payload'], manifestSha256: '' },
    file,
  );
  const { root, outside } = await symlinkedRoot('link');
  const before = { root: await treeDigest(root.path), outside: await treeDigest(outside) };
  const { outcome, restores } = await rollback(root, agent, rec.id);
  assert.equal(outcome.ok, false);
  assert.match(
    (outcome as { message: string }).message,
    /critical: rollback did not complete: backed-up path \/etc\/payload: etc in the root is a symlink; restoring through it could write outside/,
  );
  assert.deepEqual(restores, [], 'no package was restored');
  assert.deepEqual({ root: await treeDigest(root.path), outside: await treeDigest(outside) }, before);
});

test('a forged archive handed to the agent is refused before anything on the root changes', async () => {
  for (const [name, manifest, message] of FORGED) {
    const file = await forgedArchive(`agent-${name}`, manifest);
    const sha256 = await sha256File(file);
    // A compromised store: it vouches for the forged archive and hands it out.
    const forged: BackupStore = {
      put: () => Promise.reject(new Error('not used')),
      verify: async () => ({ sha256 }),
      get: async (id) => ({
        record: { id, hostId: HOST, runId: '', profile: '', paths: [], sizeBytes: 0, sha256, manifestSha256: '', createdAt: '' },
        file,
        release: async () => undefined,
      }),
    };
    const root = new HostRoot(path.join(dir, `agent-${name}-root`));
    await mkdir(root.at('etc'), { recursive: true });
    await writeFile(root.at('etc/hostname'), 'the root\n');
    const before = await treeDigest(root.path);
    const { outcome, restores } = await rollback(root, forged, `b-forged-${name}`);
    assert.equal(outcome.ok, false, name);
    assert.match((outcome as { message: string }).message, message);
    assert.deepEqual(restores, [], `${name}: no package was restored`);
    assert.equal(await treeDigest(root.path), before, `${name}: the root is unchanged`);
    assert.equal(existsSync(path.join(dir, 'outside')), false, `${name}: nothing was written beside the root`);
  }
});
