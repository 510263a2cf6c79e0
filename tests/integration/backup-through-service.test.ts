// Agents never touch the backup store (issue 12): with bus authentication on and each
// identity on its own credential, an agent uploads by publishing pieces on its own upload
// subject and restores by asking the backup service for its copy piece by piece. The
// broker refuses a piece published as another host, the service refuses a piece of another
// host's backup or of an object the grant did not name, an upload with a missing piece is
// never verified, and pieces are dropped once the backup is stored.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BackupApp } from '@yixing/backup';
import {
  agentInboxPrefix,
  Bus,
  BusPermissionError,
  catalog,
  connectBus,
  connectDb,
  createRegistry,
  serviceInboxPrefix,
  silentLogger,
  subjectPattern,
  UPLOAD_CHUNK_BYTES,
} from '@yixing/common';
import { BusBackupStore, publishArchivePieces, sha256File } from '@yixing/host-agent/internal';
import type { Connection } from 'mongoose';
import { makeArchive, randomFile, scratchDir } from '../fixtures/archives.ts';
import { startBackupService } from '../fixtures/backup-service.ts';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';
import { FIXTURE_BACKUP_BUCKET, type NatsFixture, startNats } from '../fixtures/nats.ts';

let nats: NatsFixture;
let mongo: MongoFixture;
let conn: Connection;
let service: BackupApp;
let admin: NatsConnection;
let dir: string;
let payload: string;
const conns: NatsConnection[] = [];
const log = silentLogger();

async function agentBus(hostId: string): Promise<Bus> {
  const creds = await nats.auth?.agentCreds(hostId);
  assert.ok(creds);
  const nc = await connectBus({ servers: nats.url, name: hostId, creds, inboxPrefix: agentInboxPrefix(hostId) });
  conns.push(nc);
  return new Bus({ nc, log, registry: createRegistry('agent', { processMetrics: false }) });
}

const storeOf = (bus: Bus, hostId: string): BusBackupStore => new BusBackupStore({ bus, hostId, uploadAttempts: 1, patienceMs: 5_000 });
const meta = (hostId: string, runId: string) => ({ hostId, runId, profile: 'debian-11-to-12', paths: ['/etc'], manifestSha256: '' });

before(async () => {
  [nats, mongo, dir] = await Promise.all([startNats({ auth: true }), startMongo(), scratchDir('yx-backup-bus-')]);
  const auth = nats.auth;
  assert.ok(auth);
  // The backup service on its own least-privilege credential, as deployed.
  const backupNc = await connectBus({
    servers: nats.url,
    name: 'backup',
    creds: await auth.creds('backup'),
    inboxPrefix: serviceInboxPrefix('backup'),
  });
  admin = await connectBus({ servers: nats.url, name: 'admin', creds: await auth.creds('admin') });
  conns.push(backupNc, admin);
  conn = await connectDb({ uri: mongo.uri('backup_bus'), appName: 'backup-bus-test' });
  service = await startBackupService({ conn, nc: backupNc, bucket: FIXTURE_BACKUP_BUCKET });
  payload = await randomFile(dir, 3 * 1024 * 1024 + 17); // 13 pieces, the last one short
});

after(async () => {
  await service?.stop();
  await Promise.all(conns.map((c) => c.close()));
  await conn?.close();
  await Promise.all([nats?.stop(), mongo?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** How many pieces of a backup the uploads stream holds now. */
async function piecesHeld(hostId: string, backupId: string): Promise<number> {
  const subject = subjectPattern('backupChunk', { hostId, backupId });
  const info = await (await jetstreamManager(admin)).streams.info(catalog.backupChunk.stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

test('an agent with no access to the store backs up and restores through the service, byte for byte; the pieces are dropped', async () => {
  const a = await agentBus('host-a');
  const file = await makeArchive(dir, 'a1', payload);
  const record = await storeOf(a, 'host-a').put(meta('host-a', 'run-a1'), file);
  assert.equal(record.sha256, await sha256File(file));
  assert.equal((await service.service.get(record.id)).state, 'verified');
  assert.equal(await piecesHeld('host-a', record.id), 0, 'purged once stored');

  const fetched = await storeOf(a, 'host-a').get(record.id);
  try {
    assert.ok((await readFile(fetched.file)).equals(await readFile(file)));
  } finally {
    await fetched.release();
  }
});

test("the broker refuses an agent's piece published as another host; the other host's upload is untouched", async () => {
  const [a, b] = await Promise.all([agentBus('host-a2'), agentBus('host-b2')]);
  const file = await makeArchive(dir, 'b2', payload);
  const slot = await b.request('backupSlotRequest', {
    hostId: 'host-b2',
    runId: 'run-b2',
    planId: '',
    paths: ['/etc'],
    sizeBytes: (await readFile(file)).length,
    sha256: await sha256File(file),
    manifestSha256: '',
  });
  assert.ok(slot.accepted, slot.reason);
  await assert.rejects(
    a.publishDurable(
      'backupChunk',
      { hostId: 'host-b2', backupId: slot.backupId, index: 0, data: new Uint8Array(16) },
      `${slot.backupId}.0`,
      { deadlineMs: 2_000 },
    ),
    BusPermissionError,
  );
  assert.equal(await piecesHeld('host-b2', slot.backupId), 0);
  // B's own pieces make B's backup.
  const pieces = await publishArchivePieces(b, 'host-b2', slot.backupId, file);
  assert.equal(pieces, Math.ceil((await readFile(file)).length / UPLOAD_CHUNK_BYTES));
  const status = await b.request('backupCommit', { hostId: 'host-b2', backupId: slot.backupId }, 60_000);
  assert.equal(status.sha256, await sha256File(file));
});

test("the service reads an agent no piece of another host's backup, and no object its grant did not name", async () => {
  const [a, b] = await Promise.all([agentBus('host-a3'), agentBus('host-b3')]);
  const [bRecord, aRecord] = await Promise.all([
    storeOf(b, 'host-b3').put(meta('host-b3', 'run-b3'), await makeArchive(dir, 'b3', payload)),
    storeOf(a, 'host-a3').put(meta('host-a3', 'run-a3'), await makeArchive(dir, 'a3', payload)),
  ]);
  const bObject = (await service.service.get(bRecord.id)).object;
  const aObject = (await service.service.get(aRecord.id)).object;

  // A names B's backup: refused by the catalog's host, whatever object it names.
  const stolen = await a.request('restoreChunkRequest', { hostId: 'host-a3', backupId: bRecord.id, objectName: bObject, cursor: '' });
  assert.match(stolen.reason, /is not host host-a3's/);
  assert.equal(stolen.data.length, 0);
  assert.equal(stolen.retryable, false);

  // A names its own backup but B's object: not a copy of A's backup.
  const swapped = await a.request('restoreChunkRequest', { hostId: 'host-a3', backupId: aRecord.id, objectName: bObject, cursor: '' });
  assert.match(swapped.reason, /is not a restore copy of backup/);
  assert.equal(swapped.data.length, 0);

  // A cursor is a byte offset into the named backup's own plaintext: nothing else (an
  // object's chunk position, as cursors were) and nothing past its end.
  const first = await b.request('restoreChunkRequest', { hostId: 'host-b3', backupId: bRecord.id, objectName: bObject, cursor: '' });
  assert.equal(first.reason, '');
  assert.equal(first.nextCursor, String(first.data.length));
  for (const cursor of ['AbCdEf:0:0', String(aRecord.sizeBytes), '-1']) {
    const forged = await a.request('restoreChunkRequest', { hostId: 'host-a3', backupId: aRecord.id, objectName: aObject, cursor });
    assert.match(forged.reason, new RegExp(`cursor .* is not a piece of backup ${aRecord.id}'s ${aRecord.sizeBytes} bytes`), cursor);
    assert.equal(forged.data.length, 0);
  }
});

test('an upload with a missing piece is never verified; its pieces are dropped', async () => {
  const a = await agentBus('host-a4');
  const file = await makeArchive(dir, 'a4', payload);
  const bytes = await readFile(file);
  const slot = await a.request('backupSlotRequest', {
    hostId: 'host-a4',
    runId: 'run-a4',
    planId: '',
    paths: ['/etc'],
    sizeBytes: bytes.length,
    sha256: await sha256File(file),
    manifestSha256: '',
  });
  for (const index of [0, 2, 3]) {
    const data = bytes.subarray(index * UPLOAD_CHUNK_BYTES, (index + 1) * UPLOAD_CHUNK_BYTES);
    await a.publishDurable('backupChunk', { hostId: 'host-a4', backupId: slot.backupId, index, data }, `${slot.backupId}.${index}`);
  }
  const status = await a.request('backupCommit', { hostId: 'host-a4', backupId: slot.backupId }, 60_000);
  assert.match(status.reason, /piece 1 is missing: the next one published is 2/);
  assert.equal((await service.service.get(slot.backupId)).state, 'failed');
  assert.equal(await piecesHeld('host-a4', slot.backupId), 0);
});
