// mongoose against the MongoDB-compatible store: a model round trip, a unique index that
// rejects a duplicate, a conditional (state + version) write that refuses a stale writer,
// and each command's span inside traced work.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BULK_CHUNK, bulkWriteChunked, conditionalUpdate, connectDb, ensureIndexes, StaleWriteError } from '@yixing/common';
import { inSpan, recordSpans } from '@yixing/common/internal';
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

test('a command inside traced work is a client span of that work; outside any trace, none', async () => {
  const spans = recordSpans();
  try {
    const Host = conn.model<HostDoc>('Host');
    await Host.find({ state: 'nobody-has-this' }).lean().exec(); // outside any span
    assert.equal(
      spans.finished().length,
      0,
      spans
        .finished()
        .map((s) => s.name)
        .join(),
    );
    await inSpan('traced work', {}, async () => {
      await Host.find({ state: 'Ready' }).lean().exec();
      await Host.updateOne({ _id: 'h-nope' }, { $set: { state: 'x' } }).exec();
      await Host.create({ _id: 'h-traced', hostname: 'h-traced', state: 'Ready', labels: { cluster: 'c', zone: 'z' } });
      await assert.rejects(Host.create({ _id: 'h-traced-2', hostname: 'h-traced', state: 'Ready' }), /duplicate key|E11000/);
    });
    const [work] = spans.named('traced work');
    assert.ok(work);
    const children = spans.childrenOf(work);
    assert.deepEqual(
      children.map((s) => s.name),
      ['find hosts', 'update hosts', 'insert hosts', 'insert hosts'],
    );
    for (const s of children) {
      assert.equal(s.kind, SpanKind.CLIENT);
      assert.equal(s.attributes['db.system.name'], 'mongodb');
      assert.equal(s.attributes['db.namespace'], 'foundation');
      assert.equal(s.attributes['db.collection.name'], 'hosts');
    }
    // The refused insert comes back as a succeeded command carrying writeErrors (from
    // FerretDB as from MongoDB): its span fails all the same.
    assert.equal(children[2]?.status.code, SpanStatusCode.UNSET);
    assert.equal(children[3]?.status.code, SpanStatusCode.ERROR);
    assert.match(children[3]?.status.message ?? '', /write error 11000/);
  } finally {
    await spans.stop();
  }
});
