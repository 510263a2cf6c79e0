// JetStream as the bus relies on it: durable pull consumers redeliver what was nak'd or
// never acked, KV watches see every change, the Object Store keeps large blobs intact,
// and the contract's streams drop re-published message ids.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { catalog, connectBus, encode, ensureDurable, ensureStreams } from '@yixing/common';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';

let nats: NatsFixture;
let nc: NatsConnection;

before(async () => {
  nats = await startNats();
  nc = await connectBus({ servers: nats.url, name: 'jetstream-test' });
});

after(async () => {
  await nc?.drain();
  await nats?.stop();
});

test('a durable pull consumer redelivers a nak and an un-acked message', async () => {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: 'WORK', subjects: ['work.>'] });
  await jsm.consumers.add('WORK', {
    durable_name: 'workers',
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(1_000),
    max_deliver: 5,
  });
  for (const n of ['a', 'b', 'c']) await js.publish(`work.${n}`, n);

  const consumer = await js.consumers.get('WORK', 'workers');
  const first = await consumer.fetch({ max_messages: 3, expires: 5_000 });
  const seen: string[] = [];
  for await (const m of first) {
    seen.push(m.string());
    if (m.string() === 'a') await m.ackAck();
    if (m.string() === 'b') m.nak();
    // 'c' is neither acked nor nak'd: it must come back after ack_wait.
  }
  assert.deepEqual(seen, ['a', 'b', 'c']);

  const again = new Map<string, { redelivered: boolean; count: number }>();
  while (again.size < 2) {
    const m = await consumer.next({ expires: 5_000 });
    assert.ok(m, 'expected a redelivery before the pull expired');
    again.set(m.string(), { redelivered: m.redelivered, count: m.info.deliveryCount });
    // ackAck waits for the server to record the ack, so the consumer info below is exact.
    assert.equal(await m.ackAck(), true);
  }
  assert.deepEqual([...again.keys()].sort(), ['b', 'c']);
  for (const [, info] of again) {
    assert.equal(info.redelivered, true);
    assert.equal(info.count, 2);
  }
  const info = await consumer.info();
  assert.equal(info.num_ack_pending, 0);
  assert.equal(info.num_pending, 0);
});

test('a KV watch sees puts and deletes in order', async () => {
  const kv = await new Kvm(nc).create('yx_test_kv', { history: 5 });
  const watch = await kv.watch({ key: 'host.>' });
  await kv.put('host.a', 'idle');
  await kv.put('host.a', 'running');
  await kv.delete('host.a');
  const seen: string[] = [];
  for await (const e of watch) {
    seen.push(`${e.key}=${e.operation}:${e.string()}`);
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen, ['host.a=PUT:idle', 'host.a=PUT:running', 'host.a=DEL:']);
});

test('an Object Store round trip of 6 MiB keeps every byte and the checksum', async () => {
  const os = await new Objm(nc).create('yx_test_objects');
  const blob = randomBytes(6 * 1024 * 1024);
  const put = await os.putBlob({ name: 'backup.tar', options: { max_chunk_size: 128 * 1024 } }, blob);
  const sha = createHash('sha256').update(blob).digest('base64url');
  assert.equal(put.size, blob.length);
  assert.equal(put.chunks, 48);
  assert.equal(put.digest.replace(/^SHA-256=/, '').replace(/=+$/, ''), sha);

  const got = await os.get('backup.tar');
  assert.ok(got);
  const chunks: Uint8Array[] = [];
  for await (const c of got.data) chunks.push(c);
  assert.ifError(await got.error);
  assert.ok(Buffer.concat(chunks).equals(blob), 'object bytes differ');
});

test('the contract streams exist, are idempotent to create and drop a re-published event id', async () => {
  await ensureStreams(nc);
  await ensureStreams(nc);
  const js = jetstream(nc);
  const { subject, data } = encode('stepEvent', {
    eventId: 'h-1:r-1:precheck:1:started',
    hostId: 'h-1',
    runId: 'r-1',
    commandId: 'cmd-1',
    step: 2,
    phase: 2,
    kindToken: 'started',
  });
  const first = await js.publish(subject, data, { msgID: 'h-1:r-1:precheck:1:started' });
  const again = await js.publish(subject, data, { msgID: 'h-1:r-1:precheck:1:started' });
  assert.equal(first.stream, 'YX_EVENTS');
  assert.equal(first.duplicate, false);
  assert.equal(again.duplicate, true);
  const jsm = await jetstreamManager(nc);
  const si = await jsm.streams.info('YX_EVENTS');
  assert.equal(si.state.messages, 1);
});

test('ensureDurable creates a durable consumer, updates a changed one, and races safely', async () => {
  await ensureStreams(nc);
  const stream = catalog.runFinished.stream;
  const jsm = await jetstreamManager(nc);
  const [a, b] = await Promise.all([
    ensureDurable(nc, stream, { name: 'test-durable', filterSubjects: [catalog.runFinished.filter] }),
    ensureDurable(nc, stream, { name: 'test-durable', filterSubjects: [catalog.runFinished.filter] }),
  ]);
  assert.equal((await a.info()).name, 'test-durable');
  assert.equal((await b.info()).name, 'test-durable');

  // A new release filters more and allows more in flight: the running consumer follows
  // (the backup service's own copy used to leave an existing consumer as it was).
  await ensureDurable(nc, stream, {
    name: 'test-durable',
    filterSubjects: [catalog.runFinished.filter, catalog.backupEvent.filter],
    max_ack_pending: 77,
  });
  const info = await jsm.consumers.info(stream, 'test-durable');
  assert.deepEqual(info.config.filter_subjects, [catalog.runFinished.filter, catalog.backupEvent.filter]);
  assert.equal(info.config.max_ack_pending, 77);
  assert.equal(info.config.ack_policy, AckPolicy.Explicit);

  const { subject, data } = encode('runFinished', {
    eventId: 'e-durable',
    hostId: 'h-durable',
    runId: 'r-1',
    planId: 'p-1',
    state: 'succeeded',
  });
  await jetstream(nc).publish(subject, data, { msgID: 'e-durable' });
  const consumer = await ensureDurable(nc, stream, { name: 'test-durable', filterSubjects: [catalog.runFinished.filter] });
  const m = await consumer.next({ expires: 5_000 });
  assert.equal(m?.subject, subject);
  m?.ack();
});
