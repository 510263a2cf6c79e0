// The backup service against real NATS (Object Store) and FerretDB, with agents' side
// of the protocol (BusBackupStore): many large backups at once, corruption caught at
// verification and at restore, retention that deletes only what may go, and sealed
// (encrypted) backups that restore byte for byte.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { type ArchiveStorage, type BackupApp, BackupStoreUnavailableError, buildBackupApp, parseKey } from '@yixing/backup';
import { BackupState, Bus, connectBus, connectDb, createRegistry, silentLogger } from '@yixing/common';
import { BusBackupStore, publishArchivePieces, sha256File } from '@yixing/host-agent/internal';
import type { Connection } from 'mongoose';
import { bearer, testApiAccess, testTokens } from '../fixtures/api-access.ts';
import { makeArchive, randomFile, scratchDir } from '../fixtures/archives.ts';
import { assertDashboardsServed } from '../fixtures/dashboards.ts';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';
import { corruptChunk } from '../fixtures/object-store.ts';
import { waitUntil } from '../fixtures/wait.ts';

let nats: NatsFixture;
let mongo: MongoFixture;
let nc: NatsConnection;
let conn: Connection;
let plain: BackupApp;
let sealed: BackupApp;
let dir: string;
let payload20: string;
const log = silentLogger();
const key = parseKey(randomBytes(32).toString('hex'), 'test-key-1');

const config = {
  retentionDays: 30,
  planQuotaBytes: 0,
  uploadTimeoutMs: 3_600_000,
  restoreCopyTtlMs: 3_600_000,
  sweepIntervalMs: 3_600_000,
  maxConcurrentVerifications: 4,
};

before(async () => {
  [nats, mongo, dir] = await Promise.all([startNats(), startMongo(), scratchDir('yx-backups-')]);
  nc = await connectBus({ servers: nats.url, name: 'backup-test' });
  conn = await connectDb({ uri: mongo.uri('backups'), appName: 'backup-test' });
  // Two services on one catalog: one storing as uploaded, one sealing with a key.
  plain = await backupService({ bucket: 'plain' });
  await plain.start();
  payload20 = await randomFile(dir, 20 * 1024 * 1024);
});

after(async () => {
  for (const c of agentConnections) await c.close();
  await plain?.stop();
  await nc?.drain();
  await conn?.close();
  await Promise.all([nats?.stop(), mongo?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** A backup service in this process on the shared catalog; sealing when given a key. */
function backupService(
  cfg: Partial<typeof config> & { bucket: string },
  sealWith?: ReturnType<typeof parseKey>,
  wrapStorage?: (store: ArchiveStorage) => ArchiveStorage,
): Promise<BackupApp> {
  return buildBackupApp({
    wrapStorage,
    conn,
    nc,
    log,
    registry: createRegistry('backup', { processMetrics: false }),
    clock: Date.now,
    access: testApiAccess(),
    keys: { sealing: sealWith, byId: new Map(sealWith ? [[sealWith.id, sealWith]] : []) },
    config: { ...config, ...cfg },
  });
}

const agentConnections: NatsConnection[] = [];

/** An agent's side of the protocol, on its own connection as on its own host. */
async function agent(hostId: string, planId = 'p-test'): Promise<BusBackupStore> {
  const c = await connectBus({ servers: nats.url, name: `agent-${hostId}` });
  agentConnections.push(c);
  return new BusBackupStore({ bus: new Bus({ nc: c, log, registry: createRegistry('agent', { processMetrics: false }) }), hostId, planId });
}

test('50 concurrent 20 MB backups are uploaded and verified', async () => {
  const archives = await Promise.all(Array.from({ length: 50 }, (_, i) => makeArchive(dir, `bulk-${i}`, payload20)));
  const records = await Promise.all(
    archives.map(async (file, i) =>
      (await agent(`host-${i}`)).put(
        { hostId: `host-${i}`, runId: `run-${i}`, profile: 'debian-11-to-12', paths: ['/etc'], manifestSha256: '' },
        file,
      ),
    ),
  );
  assert.equal(new Set(records.map((r) => r.id)).size, 50);
  for (const [i, r] of records.entries()) {
    const doc = await plain.service.get(r.id);
    assert.equal(doc.state, 'verified');
    assert.equal(doc.sha256, await sha256File(archives[i] as string));
    assert.ok(doc.sizeBytes > 20 * 1024 * 1024);
  }
  const metrics = (await plain.api.inject({ headers: bearer(), method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /^yx_backup_verified_total\{[^}]*\} 50$/m);
  // What the backups dashboard queries is what the service exports.
  assert.equal(await assertDashboardsServed(metrics, 'backup service', (m) => m.startsWith('yx_backup_')), 5);
});

const corrupt = (bucket: string, object: string): Promise<void> => corruptChunk(nc, bucket, object);

test('a corrupted chunk is detected at verification and again at restore', async () => {
  const [a, b] = await Promise.all([makeArchive(dir, 'corrupt-a', payload20), makeArchive(dir, 'corrupt-b', payload20)]);
  const store = await agent('host-corrupt');
  const ra = await store.put({ hostId: 'host-corrupt', runId: 'run-ca', profile: 'p', paths: ['/etc'], manifestSha256: '' }, a);
  const rb = await store.put({ hostId: 'host-corrupt', runId: 'run-cb', profile: 'p', paths: ['/etc'], manifestSha256: '' }, b);

  await corrupt('plain', (await plain.service.get(ra.id)).object);
  const verify = (await plain.api.inject({ headers: bearer(), method: 'POST', url: `/v1/backups/${ra.id}/verify` })).json() as {
    ok: boolean;
    reason: string;
    backup: { state: string };
  };
  assert.equal(verify.ok, false);
  assert.match(verify.reason, /^corrupt: /);
  assert.equal(verify.backup.state, 'failed');

  await corrupt('plain', (await plain.service.get(rb.id)).object);
  await assert.rejects(store.get(rb.id), /restore of .* refused: backup .* is corrupt and cannot be restored/);
  assert.equal((await plain.service.get(rb.id)).state, 'failed');
});

test('an archive its manifest does not describe is never verified; a verified one catalogues its packages', async () => {
  const store = await agent('host-manifest');
  const lying = await makeArchive(dir, 'manifest-lies', payload20, { digests: { '/etc': 'x', '/var/lib/app': 'y' } });
  await assert.rejects(
    store.put({ hostId: 'host-manifest', runId: 'run-m1', profile: 'p', paths: ['/etc'], manifestSha256: '' }, lying),
    /could not be verified after 3 uploads: manifest: manifest describes paths \/etc, \/var\/lib\/app, the agent declared \/etc/,
  );
  const broken = await makeArchive(dir, 'manifest-broken', payload20, { osRelease: undefined });
  await assert.rejects(
    store.put({ hostId: 'host-manifest', runId: 'run-m2', profile: 'p', paths: ['/etc'], manifestSha256: '' }, broken),
    /manifest: yixing\/backup.json: osRelease must have id and versionId/,
  );
  const attempts = (await plain.api.inject({ headers: bearer(), method: 'GET', url: '/v1/backups?hostId=host-manifest' })).json().items as {
    state: string;
  }[];
  assert.equal(attempts.length, 6);
  assert.ok(attempts.every((b) => b.state === 'failed'));

  const good = await store.put(
    { hostId: 'host-manifest', runId: 'run-m3', profile: 'p', paths: ['/etc'], manifestSha256: '' },
    await makeArchive(dir, 'manifest-good', payload20),
  );
  const shown = (await plain.api.inject({ headers: bearer(), method: 'GET', url: `/v1/backups/${good.id}` })).json();
  assert.equal(shown.state, 'verified');
  assert.equal(shown.osRelease, 'debian 11');
  assert.equal(shown.packageCount, 2);
  assert.equal(shown.packages[0], 'base-files 11.1+deb11u9 amd64');
  assert.match(shown.packages[1], /^pkg-manifest-good [0-9a-f]{8} all held$/);

  // The agent's check before it upgrades: the service vouches, nothing is downloaded.
  assert.equal((await store.verify(good.id)).sha256, good.sha256);
  const failedId = (
    (await plain.api.inject({ headers: bearer(), method: 'GET', url: '/v1/backups?hostId=host-manifest&state=failed' })).json().items as {
      id: string;
    }[]
  )[0]?.id as string;
  await assert.rejects(store.verify(failedId), /backup b-\S+ is failed at the backup service: manifest: /);
  // Where a backup stands, as the scheduler asks when an event went missing.
  const asker = new Bus({ nc, log, registry: createRegistry('scheduler', { processMetrics: false }) });
  const status = (hostId: string, backupId: string) => asker.request('backupStatusRequest', { hostId, backupId }, 5_000);
  assert.equal((await status('host-manifest', good.id)).state, BackupState.VERIFIED);
  assert.equal((await status('host-other', good.id)).state, BackupState.FAILED);
  const unknown = await status('host-manifest', 'b-20260101-000000000000');
  assert.equal(unknown.state, BackupState.FAILED);
  assert.match(unknown.reason, /no backup b-20260101-000000000000/);
});

test('retention deletes only eligible backups', async () => {
  const day = 86_400_000;
  const file = await makeArchive(dir, 'retention', payload20);
  const put = async (host: string, run: string) =>
    (await agent(host)).put({ hostId: host, runId: run, profile: 'p', paths: ['/etc'], manifestSha256: '' }, file);
  const ended = await put('host-r1', 'run-ended-long-ago');
  const recent = await put('host-r2', 'run-ended-yesterday');
  // host-r3 also has a verified backup of an earlier run: it does not stand in for the live one.
  const earlier = await put('host-r3', 'run-r3-earlier');
  const live = await put('host-r3', 'run-still-live');
  // A run's end is never taken to be before its backup was made: these were made as long ago.
  for (const [doc, ago] of [
    [ended, 41 * day],
    [recent, 2 * day],
    [earlier, 3 * day],
  ] as const) {
    await conn.collection('backups').updateOne({ _id: doc.id as never }, { $set: { createdAt: new Date(Date.now() - ago) } });
  }
  const bus = new Bus({ nc, log, registry: createRegistry('scheduler', { processMetrics: false }) });
  for (const [runId, hostId, at] of [
    ['run-ended-long-ago', 'host-r1', Date.now() - 40 * day],
    ['run-ended-yesterday', 'host-r2', Date.now() - day],
    ['run-r3-earlier', 'host-r3', Date.now() - 2 * day],
  ] as const) {
    await bus.publishDurable(
      'runFinished',
      { eventId: `${runId}.final`, hostId, runId, planId: 'p-test', state: 'succeeded', atMs: at },
      `${runId}.final`,
    );
  }
  await waitUntil(
    async () => {
      const d = await plain.service.get(recent.id);
      return { done: d.expiresAt !== null, value: d, state: String(d.expiresAt) };
    },
    { what: 'run-final events applied' },
  );
  // The backup of a live run cannot be deleted, by the API or by age, even beside others.
  const refused = await plain.api.inject({ headers: bearer(), method: 'DELETE', url: `/v1/backups/${live.id}` });
  assert.equal(refused.statusCode, 409);
  assert.match(refused.json().error.message, /is verified and host host-r3's run run-still-live has not ended; a rollback may need it/);
  assert.equal((await plain.service.get(earlier.id)).state, 'verified');

  const swept = await plain.service.sweep();
  assert.equal(swept.expired, 1);
  assert.equal((await plain.service.get(ended.id)).state, 'expired');
  assert.equal((await plain.service.get(recent.id)).state, 'verified');
  assert.equal((await plain.service.get(live.id)).state, 'verified');
  const os = await new Objm(nc).open('plain');
  const gone = await os.info((await plain.service.get(ended.id)).object);
  assert.ok(gone === null || gone.deleted, 'the expired archive is gone from storage');
  assert.ok(await os.info((await plain.service.get(recent.id)).object));
  // A backup whose run has ended may be deleted by an operator.
  assert.equal((await plain.api.inject({ headers: bearer(), method: 'DELETE', url: `/v1/backups/${recent.id}` })).json().state, 'deleted');
});

test('an encrypted backup restores byte for byte', async () => {
  await plain.stop();
  sealed = await backupService({ bucket: 'sealed' }, key);
  await sealed.start();
  const file = await makeArchive(dir, 'sealed', payload20);
  const store = await agent('host-sealed');
  const rec = await store.put({ hostId: 'host-sealed', runId: 'run-s', profile: 'p', paths: ['/etc'], manifestSha256: '' }, file);
  const doc = await sealed.service.get(rec.id);
  assert.equal(doc.keyId, 'test-key-1');
  assert.ok(doc.storedBytes > doc.sizeBytes, 'sealed frames carry their tags');
  // At rest the archive is not readable: the payload's bytes are nowhere in it.
  const raw = await (await new Objm(nc).open('sealed')).getBlob(doc.object);
  assert.ok(raw);
  const probe = (await readFile(payload20)).subarray(4096, 4096 + 64);
  assert.equal(Buffer.from(raw).indexOf(probe), -1);
  const { file: restored } = await store.get(rec.id);
  assert.ok((await readFile(restored)).equals(await readFile(file)), 'restored byte for byte');

  // Key rotation: a service that lacks the old key refuses, without calling the backup corrupt...
  await sealed.stop();
  const newKey = parseKey(randomBytes(32).toString('hex'), 'test-key-2');
  const forgetful = await backupService({ bucket: 'sealed' }, newKey);
  await forgetful.start();
  await assert.rejects(store.get(rec.id), /sealed with key test-key-1, which this service does not have/);
  assert.equal((await forgetful.service.get(rec.id)).state, 'verified');
  await forgetful.stop();
  // ...and with the old key retired beside the new one, old backups restore and new ones use the new key.
  sealed = await buildBackupApp({
    conn,
    nc,
    log,
    registry: createRegistry('backup', { processMetrics: false }),
    clock: Date.now,
    access: testApiAccess(),
    keys: {
      sealing: newKey,
      byId: new Map([
        [key.id, key],
        [newKey.id, newKey],
      ]),
    },
    config: { ...config, bucket: 'sealed' },
  });
  await sealed.start();
  assert.ok((await readFile((await store.get(rec.id)).file)).equals(await readFile(file)), 'restored after the rotation');
  const next = await store.put({ hostId: 'host-sealed', runId: 'run-s2', profile: 'p', paths: ['/etc'], manifestSha256: '' }, file);
  assert.equal((await sealed.service.get(next.id)).keyId, 'test-key-2');
});

test('a plan over its backup quota is refused an upload slot', async () => {
  const quota = await backupService({ bucket: 'quota', planQuotaBytes: 30 * 1024 * 1024 });
  await sealed.stop();
  await quota.start();
  try {
    const file = await makeArchive(dir, 'quota', payload20);
    const store = await agent('host-q', 'p-quota');
    await store.put({ hostId: 'host-q', runId: 'run-q1', profile: 'p', paths: ['/etc'], manifestSha256: '' }, file);
    await assert.rejects(
      store.put({ hostId: 'host-q', runId: 'run-q2', profile: 'p', paths: ['/etc'], manifestSha256: '' }, file),
      /refused the upload: plan p-quota backup quota: \d+ of 31457280 bytes used/,
    );
  } finally {
    await quota.stop();
  }
});

/** Writes and reads of the store that fail like a NATS timeout, `n` times, then work. */
function flaky(store: ArchiveStorage, failures: { left: number; seen: number }): ArchiveStorage {
  const timeout = (): boolean => {
    if (failures.left <= 0) return false;
    failures.left--;
    failures.seen++;
    return true;
  };
  return {
    put: (name, data) => (timeout() ? Promise.reject(Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' })) : store.put(name, data)),
    delete: (name) => store.delete(name),
    list: (prefix) => store.list(prefix),
    stat: (name) => store.stat(name),
    async *get(name) {
      if (timeout()) throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
      yield* store.get(name);
    },
  };
}

test('a store that does not answer is not a damaged backup: nothing is failed, the agent asks again', async () => {
  const failures = { left: 0, seen: 0 };
  const app = await backupService({ bucket: 'flaky' }, undefined, (store) => flaky(store, failures));
  await app.start(); // the only service running: the quota test stopped its own
  try {
    const file = await makeArchive(dir, 'flaky', payload20);
    const store = await agent('host-flaky');
    failures.left = 2; // the commit's write of what it stores, twice
    const rec = await store.put({ hostId: 'host-flaky', runId: 'run-f', profile: 'p', paths: ['/etc'], manifestSha256: '' }, file);
    assert.equal(failures.seen, 2);
    const attempts = (await app.api.inject({ headers: bearer(), method: 'GET', url: '/v1/backups?hostId=host-flaky' })).json().items as {
      state: string;
    }[];
    assert.deepEqual(
      attempts.map((b) => b.state),
      ['verified'],
      'one upload, verified once the store answered',
    );

    failures.left = 1;
    const verify = (await app.api.inject({ headers: bearer(), method: 'POST', url: `/v1/backups/${rec.id}/verify` })).json();
    assert.equal(verify.ok, false);
    assert.match(verify.reason, /could not be read just now \(TIMEOUT\); try again/);
    assert.equal(verify.backup.state, 'verified');

    failures.left = 2; // the restore's read, twice
    const { file: restored } = await store.get(rec.id);
    assert.equal(failures.seen, 5);
    assert.ok((await readFile(restored)).equals(await readFile(file)));
    assert.equal((await app.service.get(rec.id)).state, 'verified');
  } finally {
    await app.stop();
  }
});

test('two commits of one backup at once: one verifies, the other is told to ask again', async () => {
  const app = await backupService({ bucket: 'twice' });
  await app.start();
  try {
    const file = await makeArchive(dir, 'twice', payload20);
    const [sha256, manifestSha256] = [await sha256File(file), ''];
    const slot = await app.service.slot({
      hostId: 'host-twice',
      runId: 'run-t',
      planId: '',
      paths: ['/etc'],
      sizeBytes: (await stat(file)).size,
      sha256,
      manifestSha256,
    });
    await publishArchivePieces(
      new Bus({ nc, log, registry: createRegistry('agent', { processMetrics: false }) }),
      'host-twice',
      slot._id,
      file,
    );
    const [a, b] = await Promise.allSettled([app.service.commit('host-twice', slot._id), app.service.commit('host-twice', slot._id)]);
    const outcomes = [a, b].map((r) => (r.status === 'fulfilled' ? r.value.state : (r.reason as Error).message));
    assert.ok(outcomes.includes('verified'), outcomes.join(' | '));
    assert.ok(
      outcomes.some((o) => /is being verified( by another commit)?; ask again/.test(o)),
      outcomes.join(' | '),
    );
    assert.equal((await app.service.commit('host-twice', slot._id)).state, 'verified', 'a later commit answers verified');
    const metrics = (await app.api.inject({ headers: bearer(), method: 'GET', url: '/metrics' })).body;
    assert.doesNotMatch(metrics, /^yx_backup_failed_total\{[^}]*\} [1-9]/m, 'no failure counted');
  } finally {
    await app.stop();
  }
});

test('an upload its agent gave up fails once the agent asks for a slot for the same run again', async () => {
  const app = await backupService({ bucket: 'superseded' });
  await app.start();
  try {
    const file = await makeArchive(dir, 'superseded', payload20);
    const size = (await stat(file)).size;
    const req = {
      hostId: 'host-sup',
      runId: 'run-s',
      planId: '',
      paths: ['/etc'],
      sizeBytes: size,
      sha256: await sha256File(file),
      manifestSha256: '',
    };
    const bus = new Bus({ nc, log, registry: createRegistry('agent', { processMetrics: false }) });
    const first = await app.service.slot(req);
    app.service.follow(first);
    // Half of it published, then the agent gives up on it (a piece never acknowledged).
    const half = path.join(dir, 'superseded-half');
    await writeFile(half, (await readFile(file)).subarray(0, Math.floor(size / 2)));
    await publishArchivePieces(bus, 'host-sup', first._id, half);
    const second = await app.service.slot(req);
    app.service.follow(second);
    await publishArchivePieces(bus, 'host-sup', second._id, file);
    assert.equal((await app.service.commit('host-sup', second._id)).state, 'verified');
    // Failed for being superseded, not after its read stalled (a minute without a piece).
    const gaveUp = await waitUntil(
      async () => {
        const d = await app.service.get(first._id);
        return { done: d.state !== 'uploading', value: d, state: d.state };
      },
      { what: 'the first upload to end' },
    );
    assert.equal(gaveUp.state, 'failed');
    assert.match(gaveUp.reason, new RegExp(`^superseded by upload ${second._id} of the same run: `));
  } finally {
    await app.stop();
  }
});

test('yx backups: list, show, verify, and a guarded delete', async () => {
  const app = await backupService({ bucket: 'cli' });
  await app.start();
  const url = await app.api.listen({ host: '127.0.0.1', port: 0 });
  try {
    const file = await makeArchive(dir, 'cli', payload20);
    const rec = await (await agent('host-cli')).put(
      { hostId: 'host-cli', runId: 'run-cli', profile: 'p', paths: ['/etc'], manifestSha256: '' },
      file,
    );
    const { run: yx } = await import('@yixing/cli');
    const { Writable } = await import('node:stream');
    const io = () => {
      const cap = (): NodeJS.WriteStream => {
        const w = new Writable({
          write(chunk: Buffer, _e, done) {
            (w as unknown as { text: string }).text += chunk.toString();
            done();
          },
        });
        (w as unknown as { text: string }).text = '';
        return w as unknown as NodeJS.WriteStream;
      };
      return { stdout: cap(), stderr: cap(), env: { YX_BACKUP_API: url, YX_TOKEN: testTokens.admin } };
    };
    const text = (s: NodeJS.WriteStream): string => (s as unknown as { text: string }).text;

    const list = io();
    assert.equal(await yx(['backups', 'list', '--host', 'host-cli'], list), 0);
    assert.match(text(list.stdout), new RegExp(`${rec.id} +host-cli +p-test +verified +20\\.\\d MiB +no`));
    const show = io();
    assert.equal(await yx(['backup', 'show', rec.id], show), 0);
    assert.match(text(show.stdout), /^osRelease +debian 11$/m);
    assert.match(text(show.stdout), /^packageCount +2$/m);
    assert.match(text(show.stdout), /^paths +\/etc$/m);
    const showJson = io();
    assert.equal(await yx(['backup', 'show', rec.id, '--json'], showJson), 0);
    assert.equal(JSON.parse(text(showJson.stdout)).packages[0], 'base-files 11.1+deb11u9 amd64');
    const verify = io();
    assert.equal(await yx(['backup', 'verify', rec.id], verify), 0);
    assert.match(text(verify.stdout), /verified, 20\.\d MiB read back intact/);
    const del = io();
    assert.equal(await yx(['backup', 'delete', rec.id], del), 1);
    assert.match(
      text(del.stderr),
      /^yx: backup .* is verified and host host-cli's run run-cli has not ended; a rollback may need it \(HTTP 409 BACKUP_REFUSED\)\n$/,
    );
    assert.equal((await app.service.get(rec.id)).state, 'verified');
  } finally {
    await app.stop();
  }
});

test("the API answers with each error's own status: 404, a retryable 503 with Retry-After, 405 with Allow", async () => {
  const app = await backupService({ bucket: 'api-errors' }); // its API only: nothing started
  const missing = await app.api.inject({ headers: bearer(), method: 'GET', url: '/v1/backups/b-20260101-000000000000' });
  assert.equal(missing.statusCode, 404, missing.body);
  assert.equal(missing.json().error.code, 'NOT_FOUND');

  const get = app.service.get.bind(app.service);
  app.service.get = async () => {
    throw new BackupStoreUnavailableError('the catalog did not answer just now; try again');
  };
  try {
    for (const [method, url] of [
      ['GET', '/v1/backups/b-20260101-000000000001'],
      ['POST', '/v1/backups/b-20260101-000000000001/verify'],
      ['DELETE', '/v1/backups/b-20260101-000000000001'],
    ] as const) {
      const res = await app.api.inject({ headers: bearer(), method, url });
      assert.equal(res.statusCode, 503, `${method} ${url}: ${res.body}`);
      assert.ok(Number(res.headers['retry-after']) > 0, `${method} ${url}: Retry-After`);
      assert.deepEqual(
        { code: res.json().error.code, retryable: res.json().error.retryable },
        { code: 'BACKUP_STORE_UNAVAILABLE', retryable: true },
      );
    }
  } finally {
    app.service.get = get;
  }

  const put = await app.api.inject({ headers: bearer(), method: 'PUT', url: '/v1/backups?hostId=x' });
  assert.equal(put.statusCode, 405, put.body);
  assert.equal(put.headers.allow, 'GET, HEAD');
  const patch = await app.api.inject({ headers: bearer(), method: 'PATCH', url: '/v1/backups/b-20260101-000000000001' });
  assert.equal(patch.statusCode, 405, patch.body);
  assert.equal(patch.headers.allow, 'GET, HEAD, DELETE');
  await app.stop();
});

test('more than 1,000 backups page through with a cursor, each exactly once, newest first', async () => {
  const app = await backupService({ bucket: 'api-pages' }); // its API only: nothing started
  const model = conn.model('Backup');
  const base = Date.UTC(2026, 0, 1);
  // Pairs share a createdAt: the cursor must still neither skip nor repeat one.
  const docs = Array.from({ length: 1205 }, (_, i) => ({
    _id: `b-20260101-${i.toString(16).padStart(12, '0')}`,
    hostId: 'host-paged',
    runId: 'run-paged',
    planId: 'p-paged',
    sha256: 'x'.repeat(64),
    state: 'failed',
    object: 'o',
    createdAt: new Date(base + Math.floor(i / 2) * 1000),
  }));
  await model.insertMany(docs);
  try {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/backups?planId=p-paged&limit=500${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await app.api.inject({ headers: bearer(), method: 'GET', url });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json() as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...page.items.map((b) => b.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, 1205, 'every backup once');
    assert.deepEqual(seen, [...docs.map((d) => d._id)].reverse(), 'newest first, ties by id');

    const bad = await app.api.inject({ headers: bearer(), method: 'GET', url: '/v1/backups?cursor=bm9wZQ' });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().error.code, 'INVALID_CURSOR');

    // The CLI follows the cursor: every backup, or --limit of them and where to go on.
    const url = await app.api.listen({ host: '127.0.0.1', port: 0 });
    const { run: yx } = await import('@yixing/cli');
    const { Writable } = await import('node:stream');
    const cap = (): NodeJS.WriteStream & { text: string } => {
      const w = new Writable({
        write(chunk: Buffer, _e, done) {
          (w as unknown as { text: string }).text += chunk.toString();
          done();
        },
      }) as unknown as NodeJS.WriteStream & { text: string };
      w.text = '';
      return w;
    };
    const all = { stdout: cap(), stderr: cap(), env: { YX_BACKUP_API: url, YX_TOKEN: testTokens.admin } };
    assert.equal(await yx(['backups', 'list', '--plan', 'p-paged', '--json'], all), 0);
    assert.equal((JSON.parse(all.stdout.text) as unknown[]).length, 1205);
    const some = { stdout: cap(), stderr: cap(), env: { YX_BACKUP_API: url, YX_TOKEN: testTokens.admin } };
    assert.equal(await yx(['backups', 'list', '--plan', 'p-paged', '--limit', '3'], some), 0);
    assert.equal(some.stdout.text.trim().split('\n').length, 4, 'a header and 3 backups');
    assert.match(some.stderr.text, /^\(more: --cursor [A-Za-z0-9_-]+\)\n$/);
  } finally {
    await model.deleteMany({ planId: 'p-paged' });
    await app.stop();
  }
});
