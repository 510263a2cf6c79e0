// The Object Store behind the backup service, on a real NATS server: objects read back byte
// for byte at any size (by the NATS library too), many large objects read at once on one
// connection, several chunks of one write awaiting acknowledgement at once, a replaced
// object's chunks gone, and a missing or corrupted object refused.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { JetStreamClient } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { ObjectStoreStorage } from '@yixing/backup/internal';
import { CorruptObjectError, connectBus, ObjectMissingError } from '@yixing/common';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';
import { corruptChunk } from '../fixtures/object-store.ts';

let nats: NatsFixture;
let nc: NatsConnection;
let storage: ObjectStoreStorage;
let js: JetStreamClient;

before(async () => {
  nats = await startNats();
  nc = await connectBus({ servers: nats.url, name: 'storage-test' });
  js = jetstream(nc, { timeout: 60_000 });
  storage = new ObjectStoreStorage(await new Objm(js).create('store'), js, 'store');
});

after(async () => {
  await nc?.drain();
  await nats?.stop();
});

async function* chunks(b: Buffer, size = 100_000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function sha(it: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of it) h.update(c);
  return h.digest('hex');
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('objects read back byte for byte, whatever their size', async () => {
  for (const size of [0, 1, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024 + 7]) {
    const data = randomBytes(size);
    const stored = await storage.put(`sizes/${size}`, chunks(data));
    assert.equal(stored.size, size);
    assert.equal(await sha(storage.get(`sizes/${size}`)), sha256(data), `size ${size}`);
  }
  assert.deepEqual(
    (await storage.list('sizes/')).map((o) => o.size).sort((a, b) => a - b),
    [0, 1, 262143, 262144, 262145, 3145735],
  );
});

test('twenty-four 16 MiB objects read at once on one connection, each intact', async () => {
  const objects = await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const data = randomBytes(16 * 1024 * 1024);
      await storage.put(`many/${i}`, chunks(data, 1024 * 1024));
      return sha256(data);
    }),
  );
  const read = await Promise.all(objects.map((_, i) => sha(storage.get(`many/${i}`))));
  assert.deepEqual(read, objects);
});

test('a missing object and a corrupted chunk are refused', async () => {
  await assert.rejects(sha(storage.get('nope')), ObjectMissingError);
  await storage.put('bad', chunks(randomBytes(2 * 1024 * 1024)));
  await corruptChunk(nc, 'store', 'bad');
  await assert.rejects(
    sha(storage.get('bad')),
    (e: unknown) => e instanceof CorruptObjectError && /object bad in bucket store is corrupt/.test(e.message),
  );
  await storage.delete('bad');
  await storage.delete('bad'); // deleting twice is fine
  await assert.rejects(sha(storage.get('bad')), ObjectMissingError);
});

test("an object written here is the NATS library's object: its info, digest and bytes", async () => {
  const os = await new Objm(js).open('store');
  const data = randomBytes(3 * 256 * 1024 + 5);
  const stored = await storage.put('library/one', chunks(data, 256 * 1024));
  const info = await os.info('library/one');
  assert.equal(info?.size, data.length);
  assert.equal(info?.chunks, 4);
  assert.equal(Buffer.from(info?.digest.replace('SHA-256=', '') ?? '', 'base64').toString('hex'), sha256(data));
  assert.equal(stored.sha256, sha256(data));
  const read = await os.get('library/one');
  assert.ok(read);
  assert.equal(await sha(read.data as AsyncIterable<Uint8Array>), sha256(data));
});

test("a write keeps several of its chunks awaiting the stream's acknowledgement at once", async () => {
  let inFlight = 0;
  let most = 0;
  // The storage's client, its chunk publishes counted while they await their acknowledgement.
  const counted = new Proxy(js, {
    get(target, prop, receiver) {
      if (prop !== 'publish') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<JetStreamClient['publish']>) => {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          return await target.publish(...args);
        } finally {
          inFlight--;
        }
      };
    },
  });
  const pipelined = new ObjectStoreStorage(await new Objm(js).open('store'), counted, 'store');
  const data = randomBytes(16 * 256 * 1024);
  await pipelined.put('pipelined/one', chunks(data, 256 * 1024));
  assert.ok(most > 1, `at most ${most} chunk awaited its acknowledgement at once`);
  assert.equal(await sha(pipelined.get('pipelined/one')), sha256(data));
});

test("an object written again reads as the new one, and the replaced one's chunks are gone", async () => {
  const first = randomBytes(2 * 256 * 1024);
  const second = randomBytes(256 * 1024 + 1);
  await storage.put('replaced/one', chunks(first));
  const before = await new Objm(js).open('store').then((os) => os.info('replaced/one'));
  await storage.put('replaced/one', chunks(second));
  assert.equal(await sha(storage.get('replaced/one')), sha256(second));
  const jsm = await js.jetstreamManager();
  const held = await jsm.streams.info('OBJ_store', { subjects_filter: `$O.store.C.${before?.nuid}` });
  assert.equal(held.state.subjects?.[`$O.store.C.${before?.nuid}`] ?? 0, 0);
});
