// Revocation in a 3-node cluster with JWT authentication: the fleet account's JWT pushed
// to one node reaches the others (full resolver, through the system account), so an agent
// connected elsewhere is cut off too and no node takes its credential any more.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { agentInboxPrefix, BusAuthError, connectBus, REGISTRAR_INBOX_PREFIX, readCreds, silentLogger } from '@yixing/common';
import { AccountRegistrar } from '@yixing/enrol';
import { type NatsClusterFixture, startNatsCluster } from '../fixtures/nats-cluster.ts';

let cluster: NatsClusterFixture;
const conns: NatsConnection[] = [];

before(async () => {
  cluster = await startNatsCluster(3, { auth: true });
});

after(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  await cluster?.stop();
});

test('a revocation pushed to one node cuts the agent off on another, and every node refuses it', async () => {
  const auth = cluster.auth;
  assert.ok(auth);
  const [n0, n1, n2] = cluster.urls as [string, string, string];
  const creds = await auth.agentCreds('far-host');
  const agent = await connectBus({ servers: n2, name: 'far-host', creds, inboxPrefix: agentInboxPrefix('far-host') });
  conns.push(agent);

  const sys = await connectBus({
    servers: n0,
    name: 'registrar',
    creds: await auth.creds('registrar'),
    inboxPrefix: REGISTRAR_INBOX_PREFIX,
  });
  conns.push(sys);
  const registrar = new AccountRegistrar({
    nc: sys,
    accountPublicKey: (await readCreds(await auth.creds('scheduler'))).account,
    operatorSigningSeed: auth.trust.operatorSigningSeed,
    log: silentLogger(),
  });
  const started = Date.now();
  await registrar.revoke([{ userKey: (await readCreds(creds)).userKey, revokedAt: new Date() }]);
  await agent.closed();
  process.stdout.write(`# the agent on another node was closed ${Date.now() - started} ms after the push began\n`);
  for (const url of [n0, n1, n2]) {
    await assert.rejects(
      connectBus({ servers: url, name: 'far-host', creds, inboxPrefix: agentInboxPrefix('far-host') }),
      BusAuthError,
      url,
    );
  }
});
