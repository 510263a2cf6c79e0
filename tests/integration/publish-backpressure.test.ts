// A stream whose ingest queue is full answers a publish 429 (JSStreamTooManyRequests,
// nats-server 2.11+) and drops it: many publishers each keeping a window in flight reach
// that (50 agents uploading backups at once did, in CI, and their uploads failed). A
// durable publish takes the 429 as "later" and every message is stored once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus, publishWithRetry } from '@yixing/common';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';

let nats: NatsFixture;
let nc: NatsConnection;

before(async () => {
  // A queue of 10 messages where the default is 10,000: every write is fsynced, so a few
  // hundred publishes at once overflow it on any machine.
  nats = await startNats({ jetstream: { max_buffered_msgs: 10 } });
  nc = await connectBus({ servers: nats.url, name: 'publish-backpressure-test' });
});

after(async () => {
  await nc?.drain();
  await nats?.stop();
});

test('publishes refused with 429 while the stream catches up are retried, each stored once', async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BACKPRESSURE', subjects: ['bp.>'] });
  const js = jetstream(nc);
  const refused: number[] = [];
  const count = 600;
  const acks = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      publishWithRetry(
        js,
        `bp.${i % 50}`,
        new Uint8Array(4096),
        `m-${i}`,
        { deadlineMs: 120_000, firstDelayMs: 20, maxDelayMs: 500 },
        { onRetry: (err) => err instanceof JetStreamApiError && refused.push(err.status) },
      ),
    ),
  );
  assert.equal(new Set(acks.map((a) => a.seq)).size, count, 'each publish stored under a sequence of its own');
  assert.ok(refused.length > 0, 'the stream refused some publishes (its ingest queue overflowed)');
  assert.deepEqual([...new Set(refused)], [429]);
  assert.equal((await jsm.streams.info('BACKPRESSURE')).state.messages, count);
});
