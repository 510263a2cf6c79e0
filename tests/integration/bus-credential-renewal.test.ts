// Credentials that expire: an enrolled agent renews its JWT at two thirds of its life and
// reconnects with it, so its connection outlives the JWT it started with; and once every
// JWT of a revoked credential has expired, its revocation leaves the account JWT, which
// keeps the revocation list (about 11,000 entries at most) from filling up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { decode } from '@nats-io/jwt';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  agentInboxPrefix,
  Bus,
  BusAuthError,
  connectBus,
  connectDb,
  createRegistry,
  ensureIndexes,
  REGISTRAR_INBOX_PREFIX,
  readCreds,
  serviceInboxPrefix,
  silentLogger,
  splitCreds,
} from '@yixing/common';
import { AccountRegistrar, EnrolService, EnrolStore, enrolModels } from '@yixing/enrol';
import { CredentialRenewer, enrolHost } from '@yixing/host-agent/internal';
import type { Connection } from 'mongoose';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';
import { waitUntil } from '../fixtures/wait.ts';

const TTL_MS = 6_000;
let nats: NatsFixture;
let mongo: MongoFixture;
let db: Connection;
let service: EnrolService;
let registrar: AccountRegistrar;
let dir: string;
const conns: NatsConnection[] = [];

before(async () => {
  [nats, mongo, dir] = await Promise.all([startNats({ auth: true }), startMongo(), mkdtemp(path.join(tmpdir(), 'yx-renewal-'))]);
  const auth = nats.auth;
  assert.ok(auth);
  db = await connectDb({ uri: mongo.uri('renewal'), appName: 'test' });
  const models = enrolModels(db);
  await ensureIndexes(db);
  const enrollerCreds = await auth.creds('enroller');
  const [nc, sys] = await Promise.all([
    connectBus({ servers: nats.url, name: 'enroller', creds: enrollerCreds, inboxPrefix: serviceInboxPrefix('enroller') }),
    connectBus({ servers: nats.url, name: 'registrar', creds: await auth.creds('registrar'), inboxPrefix: REGISTRAR_INBOX_PREFIX }),
  ]);
  conns.push(nc, sys);
  const accountPublicKey = (await readCreds(enrollerCreds)).account;
  registrar = new AccountRegistrar({ nc: sys, accountPublicKey, operatorSigningSeed: auth.trust.operatorSigningSeed, log: silentLogger() });
  service = new EnrolService({
    bus: new Bus({ nc, log: silentLogger(), registry: createRegistry('test') }),
    store: new EnrolStore(models),
    registrar,
    log: silentLogger(),
    accountPublicKey,
    agentSigningSeed: auth.trust.agentSigningSeed,
    enrolJwt: auth.trust.enrolJwt,
    credentialTtlMs: TTL_MS,
    clockMarginMs: 0,
  });
  await service.start();
});

after(async () => {
  service?.stop();
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  await db?.close();
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

const expOf = async (file: string): Promise<number> => decode(splitCreds(await readFile(file)).jwt).exp as number;

test('an agent renews its credential and its connection outlives the JWT it started with', async () => {
  const file = path.join(dir, 'renewing', 'bus.creds');
  const token = (await service.createTokens(['renewing'], 3_600_000, 'test'))[0]?.token as string;
  await enrolHost({ servers: [nats.url], hostId: 'renewing', token, credsFile: file });
  const firstExp = await expOf(file);
  const nc = await connectBus({
    servers: nats.url,
    name: 'renewing',
    creds: () => readFileSync(file),
    inboxPrefix: agentInboxPrefix('renewing'),
  });
  conns.push(nc);
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
  const file = path.join(dir, 'leaving', 'bus.creds');
  const token = (await service.createTokens(['leaving'], 3_600_000, 'test'))[0]?.token as string;
  await enrolHost({ servers: [nats.url], hostId: 'leaving', token, credsFile: file });
  const key = (await readCreds(await readFile(file))).userKey;
  await service.revokeHost('leaving', 'test');
  assert.ok(key in ((await registrar.current()).claims.revocations ?? {}));
  // Renewal of a revoked credential is refused: no JWT for it outlives the revocation.
  const again = await service.renew({ hostId: 'leaving', userPublicKey: key } as never);
  assert.equal(again.accepted, false);

  const exp = await expOf(file);
  await waitUntil(async () => ({ done: Date.now() > exp * 1000 + TTL_MS, value: undefined, state: 'waiting' }), {
    what: 'the JWTs to expire',
  });
  const r = await service.reconcile();
  assert.equal(r.pruned, 1);
  assert.ok(!(key in ((await registrar.current()).claims.revocations ?? {})));
  // Expired, the credential is refused anyway.
  await assert.rejects(
    connectBus({ servers: nats.url, name: 'leaving', creds: await readFile(file), inboxPrefix: agentInboxPrefix('leaving') }),
    BusAuthError,
  );
});
