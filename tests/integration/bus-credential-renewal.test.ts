// Credentials that expire: an enrolled agent renews its JWT at two thirds of its life and
// reconnects with it, so its connection outlives the JWT it started with; and once every
// JWT of a revoked credential has expired, its revocation leaves the account JWT, which
// keeps the revocation list (about 11,000 entries at most) from filling up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { decode } from '@nats-io/jwt';
import { agentInboxPrefix, Bus, BusAuthError, connectBus, createRegistry, readCreds, silentLogger, splitCreds } from '@yixing/common';
import { CredentialRenewer, enrolHost } from '@yixing/host-agent/internal';
import { type EnrolmentFixture, startEnrolment } from '../fixtures/enrolment.ts';
import { waitUntil } from '../fixtures/wait.ts';

const TTL_MS = 6_000;
let e: EnrolmentFixture;

before(async () => {
  e = await startEnrolment('renewal', { credentialTtlMs: TTL_MS, clockMarginMs: 0 });
});

after(() => e?.stop());

const expOf = async (file: string): Promise<number> => decode(splitCreds(await readFile(file)).jwt).exp as number;

test('an agent renews its credential and its connection outlives the JWT it started with', async () => {
  const file = path.join(e.dir, 'renewing', 'bus.creds');
  const token = (await e.service.createTokens(['renewing'], 3_600_000, 'test'))[0]?.token as string;
  await enrolHost({ servers: [e.nats.url], hostId: 'renewing', token, credsFile: file });
  const firstExp = await expOf(file);
  const nc = await connectBus({
    servers: e.nats.url,
    name: 'renewing',
    creds: () => readFileSync(file),
    inboxPrefix: agentInboxPrefix('renewing'),
  });
  e.conns.push(nc);
  const bus = new Bus({ nc, log: silentLogger(), registry: createRegistry('test') });
  const renewer = new CredentialRenewer({ bus, hostId: 'renewing', credsFile: file, log: silentLogger(), reconnect: () => nc.reconnect() });
  await renewer.start();
  try {
    await waitUntil(async () => ({ done: (await expOf(file)) > firstExp, value: undefined, state: String(await expOf(file)) }), {
      what: 'a renewed credential',
    });
    // Past the first JWT's end (whole seconds, as the server counts), the connection still works.
    await waitUntil(async () => ({ done: Date.now() > (firstExp + 2) * 1000, value: undefined, state: 'waiting' }), {
      what: 'the first JWT to expire',
    });
    assert.equal(nc.isClosed(), false);
    await nc.flush();
  } finally {
    renewer.stop();
  }
});

test("a revoked credential's revocation leaves the account JWT once all its JWTs have expired", async () => {
  const file = path.join(e.dir, 'leaving', 'bus.creds');
  const token = (await e.service.createTokens(['leaving'], 3_600_000, 'test'))[0]?.token as string;
  await enrolHost({ servers: [e.nats.url], hostId: 'leaving', token, credsFile: file });
  const key = (await readCreds(await readFile(file))).userKey;
  await e.service.revokeHost('leaving', 'test');
  assert.ok(key in ((await e.registrar.current()).claims.revocations ?? {}));
  // Renewal of a revoked credential is refused: no JWT for it outlives the revocation.
  const again = await e.service.renew({ hostId: 'leaving', userPublicKey: key } as never);
  assert.equal(again.accepted, false);

  const exp = await expOf(file);
  await waitUntil(async () => ({ done: Date.now() > exp * 1000 + TTL_MS, value: undefined, state: 'waiting' }), {
    what: 'the JWTs to expire',
  });
  const r = await e.service.reconcile();
  assert.equal(r.pruned, 1);
  assert.ok(!(key in ((await e.registrar.current()).claims.revocations ?? {})));
  // Expired, the credential is refused anyway.
  await assert.rejects(
    connectBus({ servers: e.nats.url, name: 'leaving', creds: await readFile(file), inboxPrefix: agentInboxPrefix('leaving') }),
    BusAuthError,
  );
});
