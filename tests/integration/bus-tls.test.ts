// TLS on the bus, with mutual TLS: the server presents a certificate of the site's CA and
// takes only clients with a certificate of that CA; the JWT credential still decides what
// each may say. Configured as a service is (YX_NATS_TLS_CA, _CERT, _KEY).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { agentInboxPrefix, busSecurityFromEnv, connectBus, natsEnv, readEnv } from '@yixing/common';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';
import { makeTestCerts, type TestCerts } from '../fixtures/tls-certs.ts';

let nats: NatsFixture;
let certs: TestCerts;
const conns: NatsConnection[] = [];

before(async () => {
  certs = await makeTestCerts();
  nats = await startNats({ auth: true, tls: certs });
});

after(async () => {
  await Promise.all(conns.map((c) => c.close()));
  await nats?.stop();
});

const creds = () => (nats.auth as NonNullable<NatsFixture['auth']>).agentCreds('tls-host');

test('an agent with the CA and a client certificate of it connects over TLS', async () => {
  const { tls } = busSecurityFromEnv(
    readEnv(natsEnv, { YX_NATS_TLS_CA: certs.ca, YX_NATS_TLS_CERT: certs.clientCert, YX_NATS_TLS_KEY: certs.clientKey }),
  );
  const nc = await connectBus({
    servers: nats.url,
    name: 'tls-host',
    creds: await creds(),
    tls,
    inboxPrefix: agentInboxPrefix('tls-host'),
  });
  conns.push(nc);
  assert.equal(nc.info?.tls_required, true);
  await nc.flush();
});

test('no client certificate, one of another CA, or no TLS at all: the server refuses', async () => {
  const base = { servers: nats.url, name: 'tls-host', inboxPrefix: agentInboxPrefix('tls-host') };
  await assert.rejects(connectBus({ ...base, creds: await creds(), tls: { caFile: certs.ca }, timeoutMs: 5_000 }));
  await assert.rejects(
    connectBus({
      ...base,
      creds: await creds(),
      tls: { caFile: certs.ca, certFile: certs.strangerCert, keyFile: certs.strangerKey },
      timeoutMs: 5_000,
    }),
  );
  await assert.rejects(connectBus({ ...base, creds: await creds(), timeoutMs: 5_000 }));
});
