// The 3-node cluster fixture: a replicated stream keeps accepting writes when a node,
// the stream's leader, is killed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus } from '@yixing/common';
import { type NatsClusterFixture, startNatsCluster } from '../fixtures/nats-cluster.ts';

let cluster: NatsClusterFixture;
let nc: NatsConnection;

before(async () => {
  cluster = await startNatsCluster(3);
  nc = await connectBus({ servers: cluster.urls, name: 'cluster-test' });
});

after(async () => {
  await nc?.close();
  await cluster?.stop();
});

async function publishWithRetry(subject: string, data: string, msgID: string): Promise<void> {
  const js = jetstream(nc, { timeout: 2_000 });
  // During a leader election a publish may time out; the message id makes a retry safe.
  for (let attempt = 1; ; attempt++) {
    try {
      await js.publish(subject, data, { msgID });
      return;
    } catch (err) {
      if (attempt >= 30) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

test('publishing to an R3 stream goes on after its leader is killed', async () => {
  const jsm = await jetstreamManager(nc);
  // Creating an R3 stream needs the cluster formed and a meta leader; retry until it is.
  for (let attempt = 1; ; attempt++) {
    try {
      await jsm.streams.add({ name: 'REPL', subjects: ['repl.>'], num_replicas: 3 });
      break;
    } catch (err) {
      if (attempt >= 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  for (let i = 0; i < 50; i++) await publishWithRetry(`repl.${i}`, `m${i}`, `m${i}`);

  const before = await jsm.streams.info('REPL');
  const leader = before.cluster?.leader;
  assert.ok(leader, 'the stream has a leader');
  assert.equal(before.cluster?.replicas?.length, 2);
  await cluster.kill(leader);

  for (let i = 50; i < 100; i++) await publishWithRetry(`repl.${i}`, `m${i}`, `m${i}`);

  const afterInfo = await jsm.streams.info('REPL');
  assert.equal(afterInfo.state.messages, 100);
  assert.notEqual(afterInfo.cluster?.leader, leader);
  assert.ok(afterInfo.cluster?.leader, 'a new leader was elected');
});
