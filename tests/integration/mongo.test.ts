// mongoose against the MongoDB-compatible store: a model round trip, a unique index that
// rejects a duplicate, and a conditional (state + version) write that refuses a stale writer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BULK_CHUNK, bulkWriteChunked, conditionalUpdate, connectDb, ensureIndexes, StaleWriteError } from '@yixing/common';
import { type Connection, Schema } from 'mongoose';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';

interface HostDoc {
  _id: string;
  hostname: string;
  state: string;
  version: number;
  labels: { cluster: string; zone: string };
}

let mongo: MongoFixture;
let conn: Connection;

before(async () => {
  mongo = await startMongo();
  conn = await connectDb({ uri: mongo.uri('foundation'), appName: 'test' });
  conn.model<HostDoc>(
    'Host',
    new Schema<HostDoc>({
      _id: String,
      hostname: { type: String, required: true, unique: true },
      state: { type: String, required: true },
      version: { type: Number, required: true, default: 0 },
      labels: { cluster: String, zone: String },
    }),
  );
  await ensureIndexes(conn);
});

after(async () => {
  await conn?.close();
  await mongo?.stop();
});

test('a model round-trips through the store', async () => {
  const Host = conn.model<HostDoc>('Host');
  await Host.create({ _id: 'h-1', hostname: 'web-1', state: 'idle', labels: { cluster: 'c1', zone: 'z1' } });
  const found = await Host.findById('h-1').lean();
  assert.deepEqual(
    { hostname: found?.hostname, state: found?.state, version: found?.version, labels: found?.labels },
    { hostname: 'web-1', state: 'idle', version: 0, labels: { cluster: 'c1', zone: 'z1' } },
  );
});

test('the unique index rejects a duplicate and keeps the original', async () => {
  const Host = conn.model<HostDoc>('Host');
  await Host.create({ _id: 'h-2', hostname: 'db-1', state: 'idle' });
  await assert.rejects(Host.create({ _id: 'h-3', hostname: 'db-1', state: 'idle' }), (err: { code?: number }) => err.code === 11000);
  assert.equal(await Host.countDocuments({ hostname: 'db-1' }), 1);
});

test('a conditional update refuses a stale writer and changes nothing', async () => {
  const Host = conn.model<HostDoc>('Host');
  await Host.create({ _id: 'h-4', hostname: 'app-1', state: 'idle' });

  const moved = await conditionalUpdate(Host, { _id: 'h-4', state: 'idle', version: 0 }, { $set: { state: 'running' } });
  assert.equal(moved.state, 'running');
  assert.equal(moved.version, 1);

  // A second writer that read version 0 (a replayed event) must not move the host again.
  await assert.rejects(
    conditionalUpdate(Host, { _id: 'h-4', state: 'idle', version: 0 }, { $set: { state: 'failed' } }),
    (err: unknown) => err instanceof StaleWriteError && err.code === 'STALE_WRITE' && /found state running version 1/.test(err.message),
  );
  // Right version, wrong state: refused too.
  await assert.rejects(conditionalUpdate(Host, { _id: 'h-4', state: 'idle', version: 1 }, { $set: { state: 'failed' } }), StaleWriteError);

  const current = await Host.findById('h-4').lean();
  assert.equal(current?.state, 'running');
  assert.equal(current?.version, 1);
});

test('a bulk write of 300 upserts completes in chunks (one FerretDB v1 command of >100 updates deadlocks)', async () => {
  const Host = conn.model<HostDoc>('Host');
  const ops = Array.from({ length: 300 }, (_, i) => ({
    updateOne: {
      filter: { _id: `bulk-${i}` },
      update: { $set: { hostname: `bulk-${i}`, state: 'idle' }, $setOnInsert: { version: 0 } },
      upsert: true,
    },
  }));
  assert.ok(ops.length > 2 * BULK_CHUNK);
  await bulkWriteChunked(Host, ops);
  await bulkWriteChunked(Host, ops);
  assert.equal(await Host.countDocuments({ hostname: /^bulk-/ }), 300);
});
