// What grows with the fleet must not cost the backup service on every scrape, slot
// request or sweep: the stored-bytes gauge and the plans' quotas are kept as backups
// change (loaded once at start, right again after a restart, never drifting from the
// catalogue), and the sweep reads only what is due, never the whole bucket. Documents
// read are counted from the driver's command events.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ArchiveStorage, BackupApp } from '@yixing/backup';
import { Bus, connectBus, connectDb, createRegistry, silentLogger } from '@yixing/common';
import { BusBackupStore } from '@yixing/host-agent/internal';
import type { Connection } from 'mongoose';
import { bearer } from '../fixtures/api-access.ts';
import { makeArchive, randomFile, scratchDir } from '../fixtures/archives.ts';
import { startBackupService } from '../fixtures/backup-service.ts';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';

let nats: NatsFixture;
let mongo: MongoFixture;
let nc: NatsConnection;
let conn: Connection;
let dir: string;
const log = silentLogger();
const QUOTA = 10 * 1024 ** 3;
const day = 86_400_000;

/** Backup documents the service's queries brought back (find, aggregate and their getMores). */
const read = { docs: 0 };
/** Listings of the bucket. */
const listed = { calls: 0 };

before(async () => {
  [nats, mongo, dir] = await Promise.all([startNats(), startMongo(), scratchDir('yx-backup-costs-')]);
  nc = await connectBus({ servers: nats.url, name: 'backup-costs-test' });
  conn = await connectDb({ uri: mongo.uri('backup-costs'), appName: 'backup-costs-test' });
  const collections = new Map<number, string>();
  conn.getClient().on('commandStarted', (e) => {
    const target = (e.command as Record<string, unknown>)[e.commandName];
    const coll = e.commandName === 'getMore' ? (e.command as { collection: string }).collection : target;
    collections.set(e.requestId, String(coll));
  });
  conn.getClient().on('commandSucceeded', (e) => {
    const coll = collections.get(e.requestId);
    collections.delete(e.requestId);
    if (coll !== 'backups' || !['find', 'aggregate', 'getMore'].includes(e.commandName)) return;
    const cursor = (e.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
    read.docs += (cursor?.firstBatch ?? cursor?.nextBatch ?? []).length;
  });
});

after(async () => {
  await nc?.drain();
  await conn?.close();
  await Promise.all([nats?.stop(), mongo?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** The service, started, with its bucket's listings counted. */
function backupApp(): Promise<BackupApp> {
  return startBackupService({
    conn,
    nc,
    bucket: 'costs',
    planQuotaBytes: QUOTA,
    wrapStorage: (store: ArchiveStorage): ArchiveStorage => ({
      put: (name, data) => store.put(name, data),
      get: (name) => store.get(name),
      stat: (name) => store.stat(name),
      delete: (name) => store.delete(name),
      list: (prefix) => {
        listed.calls++;
        return store.list(prefix);
      },
    }),
  });
}

/** What the catalogue adds up to, read in full (the test's own reckoning). */
async function recount(): Promise<{ stored: number; plan: (id: string) => number }> {
  const all = await conn.collection('backups').find({}).toArray();
  const stored = all.filter((d) => d.state === 'verified').reduce((n, d) => n + d.storedBytes, 0);
  const plan = (id: string) =>
    all
      .filter((d) => d.planId === id && (d.state === 'verified' || d.state === 'uploading'))
      .reduce((n, d) => n + (d.state === 'verified' ? d.storedBytes : d.sizeBytes), 0);
  return { stored, plan };
}

async function gauge(app: BackupApp): Promise<number> {
  const metrics = (await app.api.inject({ headers: bearer(), method: 'GET', url: '/metrics' })).body;
  const m = /^yx_backup_bytes_stored(?:\{[^}]*\})? (\d+)$/m.exec(metrics);
  assert.ok(m, 'the gauge is exported');
  return Number(m[1]);
}

/** A fleet's worth of catalogue: 3,000 backups over 3 plans, in every state, none due for the sweep. */
async function seedCatalogue(): Promise<void> {
  const states = ['verified', 'verified', 'uploading', 'failed', 'deleted', 'expired'] as const;
  const now = Date.now();
  const docs = Array.from({ length: 3000 }, (_, i) => {
    const state = states[i % states.length] as string;
    return {
      _id: `b-20260101-${i.toString(16).padStart(12, '0')}`,
      hostId: `host-${i}`,
      runId: `run-${i}`,
      planId: `p-${i % 3}`,
      sha256: 'x'.repeat(64),
      state,
      object: `backups/seed-${i}`,
      sizeBytes: 1000 + i,
      storedBytes: state === 'uploading' ? 0 : 1100 + i,
      createdAt: new Date(now - 60_000), // uploads still within their time
      runFinalAt: i % 2 ? new Date(now - day) : null,
      expiresAt: i % 2 ? new Date(now + 29 * day) : null,
      version: 0,
    };
  });
  await conn.collection('backups').insertMany(docs as never[]);
}

let app: BackupApp;
let before0: Awaited<ReturnType<typeof recount>>;
const slot = (planId: string, sizeBytes: number) =>
  app.service.slot({
    hostId: 'host-new',
    runId: 'run-new',
    planId,
    paths: ['/etc'],
    sizeBytes,
    sha256: 'y'.repeat(64),
    manifestSha256: '',
  });

test('a scrape reads no backup: the stored-bytes gauge is kept, loaded at start', async () => {
  await seedCatalogue();
  app = await backupApp();
  before0 = await recount();
  assert.ok(before0.stored > 0);
  read.docs = 0;
  assert.equal(await gauge(app), before0.stored, 'the gauge as the catalogue adds up');
  assert.equal(await gauge(app), before0.stored);
  assert.equal(read.docs, 0, 'a scrape reads no backup');
});

test("a slot request reads none of the plan's backups: its quota is kept", async () => {
  read.docs = 0;
  await slot('p-1', 5000);
  await slot('p-1', 7000);
  assert.equal(read.docs, 0, "a slot request reads none of the plan's backups");
  const used = before0.plan('p-1') + 12_000;
  assert.equal((await recount()).plan('p-1'), used);
  await assert.rejects(slot('p-1', QUOTA), new RegExp(`plan p-1 backup quota: ${used} of ${QUOTA} bytes used, ${QUOTA} more asked`));
});

test('a sweep reads only what is due and never lists the bucket', async () => {
  read.docs = 0;
  listed.calls = 0;
  assert.deepEqual(await app.service.sweep(), { expired: 0, stalled: 0 });
  assert.equal(listed.calls, 0, 'a sweep does not list the bucket');
  assert.equal(read.docs, 0, 'a sweep with nothing due reads nothing');
  // Three become due: two verified backups past their retention, one upload never committed.
  const backups = conn.collection('backups');
  await backups.updateMany(
    { _id: { $in: ['b-20260101-000000000001', 'b-20260101-000000000007'] as never[] } },
    { $set: { expiresAt: new Date(Date.now() - 1000) } },
  );
  await backups.updateOne({ _id: 'b-20260101-000000000002' as never }, { $set: { createdAt: new Date(Date.now() - 2 * 3_600_000) } });
  read.docs = 0;
  assert.deepEqual(await app.service.sweep(), { expired: 2, stalled: 1 });
  assert.ok(read.docs <= 3, `the sweep read the 3 due backups, not the catalogue (${read.docs})`);
});

test('the tallies move with verifications, expiries, failures and deletes, and a restart finds them the same', async () => {
  try {
    const payload = await randomFile(dir, 2 * 1024 * 1024);
    const agentNc = await connectBus({ servers: nats.url, name: 'agent-costs' });
    try {
      const store = new BusBackupStore({
        bus: new Bus({ nc: agentNc, log, registry: createRegistry('agent', { processMetrics: false }) }),
        hostId: 'host-real',
        planId: 'p-2',
      });
      const recs = [];
      for (const i of [1, 2]) {
        const file = await makeArchive(dir, `real-${i}`, payload);
        recs.push(
          await store.put({ hostId: 'host-real', runId: `run-real-${i}`, profile: 'p', paths: ['/etc'], manifestSha256: '' }, file),
        );
      }
      await app.service.runFinished({ hostId: 'host-real', runId: 'run-real-1', atMs: Date.now() });
      await app.service.delete((recs[0] as { id: string }).id);
    } finally {
      await agentNc.close();
    }
    const moved = await recount();
    assert.equal(await gauge(app), moved.stored, 'no drift after verifications, expiries, failures and a delete');
    assert.notEqual(moved.stored, before0.stored);
    await assert.rejects(slot('p-2', QUOTA - moved.plan('p-2') + 1), new RegExp(`${moved.plan('p-2')} of ${QUOTA} bytes used`));

    // A restart loads them afresh: the same numbers.
    await app.stop();
    app = await backupApp();
    assert.equal(await gauge(app), moved.stored, 'the same gauge after a restart');
    await assert.rejects(slot('p-1', QUOTA), new RegExp(`plan p-1 backup quota: ${moved.plan('p-1')} of ${QUOTA}`));
  } finally {
    await app.stop();
  }
});
