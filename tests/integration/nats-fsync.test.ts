// JetStream fsyncs every write where the project starts NATS (infra/nats/jetstream.conf):
// with nats-server's default (every 2 minutes) a power cut on a single node could lose an
// object the backup service had reported verified.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';

let nats: NatsFixture | undefined;

after(async () => {
  await nats?.stop();
});

test('the NATS fixture runs JetStream with sync_interval: always', async () => {
  nats = await startNats();
  const monitor = `http://127.0.0.1:${nats.container.getMappedPort(8222)}`;
  const jsz = (await (await fetch(`${monitor}/jsz?config=1`)).json()) as { config?: { sync_always?: boolean } };
  assert.equal(jsz.config?.sync_always, true, JSON.stringify(jsz.config));
});
