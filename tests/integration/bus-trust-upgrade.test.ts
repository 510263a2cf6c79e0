// A chain made by an earlier version, and in use, catches up with this version's
// permissions. The earlier version's agents' template had no archive-piece or restore-read
// subjects and its services' credentials no YX_UPLOADS rights, and one agent was revoked by
// a push that the server keeps in its resolver directory. After ensureBusTrust and a
// restart of nats-server on the same directory (as `./dev start` does), an agent uploads
// with the credential it already had and the revoked one stays out; a running server is
// brought up to date by yx-enrol's registrar instead (AccountRegistrar.catchUp).
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { type Account, decode, encodeUser, parseCreds, type SigningKey } from '@nats-io/jwt';
import { createUser, fromPublic, fromSeed } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  agentInboxPrefix,
  Bus,
  BusAuthError,
  BusPermissionError,
  type BusTrust,
  busTrustFiles,
  ConfigError,
  catalog,
  connectBus,
  createRegistry,
  credsText,
  DEFAULT_BACKUP_BUCKET,
  ensureBusTrust,
  ensureStreams,
  issueAgentCreds,
  publicKeyOfSeed,
  REGISTRAR_INBOX_PREFIX,
  readCreds,
  serverAuthConf,
  serviceInboxPrefix,
  signAccount,
  silentLogger,
  subjectPattern,
  writeSecretFile,
} from '@yixing/common';
import { AccountRegistrar } from '@yixing/enrol';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { fixtureImage, fixtureLabels } from '../fixtures/images.ts';
import { jetstreamConf } from '../fixtures/nats-conf.ts';
import { waitUntil } from '../fixtures/wait.ts';

const opts = { backupBucket: DEFAULT_BACKUP_BUCKET };
const enc = new TextEncoder();
/** What the earlier version did not have: archive pieces, restore reads, the uploads stream. */
const withoutNew = (allow: string[] = []): string[] => allow.filter((s) => !/^yx\.v1\.(upload|backup\.read)\.|YX_UPLOADS/.test(s));

const dirs: string[] = [];

/** A trust directory as the earlier version left it: its template and its services' credentials. */
async function writeEarlierChain(): Promise<{ dir: string; trust: BusTrust }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-trust-upgrade-'));
  dirs.push(dir);
  const { trust: current } = await ensureBusTrust(dir, opts);
  const files = busTrustFiles(dir);
  const yx = current.accounts.YX;
  const claims = decode<Account>(yx.jwt).nats;
  const signingKeys = (claims.signing_keys ?? []).map((k) =>
    typeof k === 'string' ? k : ({ ...k, template: { ...k.template, pub: { allow: withoutNew(k.template.pub?.allow) } } } as SigningKey),
  );
  const jwt = await signAccount('YX', yx.publicKey, { ...claims, signing_keys: signingKeys }, current.operatorSigningSeed);
  const trust = { ...current, accounts: { ...current.accounts, YX: { ...yx, jwt } } };
  for (const who of ['scheduler', 'backup'] as const) {
    const { uc } = await parseCreds(await readFile(files.creds(who)));
    const user = createUser();
    const userJwt = await encodeUser(
      who,
      user,
      fromPublic(yx.publicKey),
      { ...uc.nats, pub: { allow: withoutNew(uc.nats.pub?.allow) } },
      { signer: fromSeed(enc.encode(yx.signingSeed)) },
    );
    await writeSecretFile(files.creds(who), credsText(userJwt, user.getSeed()));
  }
  await writeSecretFile(files.authConf, enc.encode(serverAuthConf(trust, files.resolverDir)));
  await writeSecretFile(files.trust, enc.encode(JSON.stringify(trust, null, 2)));
  return { dir, trust };
}

const containers: StartedTestContainer[] = [];
const conns: NatsConnection[] = [];

/** nats-server on the trust directory itself (mounted at the same path): its auth conf and resolver directory. */
async function startServer(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  await copyFile(jetstreamConf.source, path.join(dir, 'jetstream.conf'));
  await writeFile(path.join(dir, 'server.conf'), 'include "jetstream.conf"\ninclude "nats-auth.conf"\n');
  const container = await new GenericContainer(fixtureImage('nats'))
    .withCommand(['-c', path.join(dir, 'server.conf'), '-js', '-sd', '/data', '-m', '8222'])
    .withBindMounts([{ source: dir, target: dir, mode: 'rw' }])
    .withExposedPorts(4222, 8222)
    .withLabels(fixtureLabels())
    .withWaitStrategy(Wait.forHttp('/healthz', 8222).forStatusCode(200))
    .start();
  containers.push(container);
  return {
    url: `nats://127.0.0.1:${container.getMappedPort(4222)}`,
    async stop() {
      await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)));
      await container.stop();
      containers.splice(containers.indexOf(container), 1);
    },
  };
}

after(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  await Promise.all(containers.map((c) => c.stop()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function busAs(url: string, name: string, creds: Uint8Array, inboxPrefix: string): Promise<Bus> {
  const nc = await connectBus({ servers: url, name, creds, inboxPrefix });
  conns.push(nc);
  return new Bus({ nc, log: silentLogger(), registry: createRegistry('test') });
}
const agentBus = (url: string, hostId: string, creds: Uint8Array) => busAs(url, hostId, creds, agentInboxPrefix(hostId));

async function registrarOf(url: string, dir: string, trust: BusTrust): Promise<AccountRegistrar> {
  const sys = await busAs(url, 'registrar', await readFile(busTrustFiles(dir).creds('registrar')), REGISTRAR_INBOX_PREFIX);
  return new AccountRegistrar({
    nc: sys.nc,
    accountPublicKey: trust.accounts.YX.publicKey,
    operatorSigningSeed: trust.operatorSigningSeed,
    log: silentLogger(),
  });
}

const BACKUP_ID = 'b-20261206-0123456789ab';
const piece = (hostId: string) => ({ hostId, backupId: BACKUP_ID, index: 0, data: Buffer.from('piece') });

/** Two agents of the earlier chain, one of them revoked through the registrar. */
async function agentsInUse(url: string, dir: string, trust: BusTrust) {
  const kept = await issueAgentCreds(trust, 'host-kept');
  const gone = await issueAgentCreds(trust, 'host-gone');
  await agentBus(url, 'host-gone', gone);
  const registrar = await registrarOf(url, dir, trust);
  await registrar.revoke([{ userKey: (await readCreds(gone)).userKey, revokedAt: new Date() }]);
  await assert.rejects(agentBus(url, 'host-gone', gone), BusAuthError);
  return { kept, gone, registrar };
}

test('ensureBusTrust brings an earlier chain up to date; after a restart an agent uploads and the revoked one stays out', async () => {
  const { dir, trust } = await writeEarlierChain();
  let server = await startServer(dir);
  const { kept, gone } = await agentsInUse(server.url, dir, trust);
  // The earlier template: no archive pieces.
  const before = await agentBus(server.url, 'host-kept', kept);
  await assert.rejects(before.publishDurable('backupChunk', piece('host-kept'), `${BACKUP_ID}.0`), BusPermissionError);
  await server.stop();

  const { upgraded } = await ensureBusTrust(dir, opts);
  server = await startServer(dir);
  const files = busTrustFiles(dir);
  const scheduler = await busAs(server.url, 'scheduler', await readFile(files.creds('scheduler')), serviceInboxPrefix('scheduler'));
  await ensureStreams(scheduler.nc);
  // The credential handed out before the upgrade, now under the current template.
  const agent = await agentBus(server.url, 'host-kept', kept);
  const ack = await agent.publishDurable('backupChunk', piece('host-kept'), `${BACKUP_ID}.0`);
  assert.equal(ack.stream, catalog.backupChunk.stream);
  // The revocation pushed to the old server was kept in the re-signed account JWT.
  await assert.rejects(agentBus(server.url, 'host-gone', gone), BusAuthError);
  assert.deepEqual(upgraded, { account: ['agent template'], identities: ['scheduler', 'backup'] });
  // Up to date: the next start changes nothing.
  assert.deepEqual((await ensureBusTrust(dir, opts)).upgraded, { account: [], identities: [] });
});

test('an unreadable file of the chain is named and nothing is changed', async () => {
  const { dir } = await writeEarlierChain();
  const files = busTrustFiles(dir);
  const before = await Promise.all([files.trust, files.authConf, files.creds('scheduler')].map((f) => readFile(f, 'utf8')));
  await writeFile(files.creds('alerting'), 'not a credentials file');
  await assert.rejects(
    ensureBusTrust(dir, opts),
    (err: unknown) => err instanceof ConfigError && err.message.includes(files.creds('alerting')),
  );
  assert.deepEqual(await Promise.all([files.trust, files.authConf, files.creds('scheduler')].map((f) => readFile(f, 'utf8'))), before);
});

test('a running server gets the current template from the registrar at once; connected agents come back under it', async () => {
  const { dir, trust } = await writeEarlierChain();
  const server = await startServer(dir);
  const { kept, gone, registrar } = await agentsInUse(server.url, dir, trust);
  const admin = await busAs(server.url, 'admin', await readFile(busTrustFiles(dir).creds('admin')), serviceInboxPrefix('admin'));
  const seen: string[] = [];
  admin.nc.subscribe(catalog.backupChunk.filter, { callback: (_e, m) => void seen.push(m.subject) });
  await admin.nc.flush();
  const agent = await agentBus(server.url, 'host-kept', kept);
  const subject = subjectPattern('backupChunk', { hostId: 'host-kept', backupId: BACKUP_ID });
  let reconnects = 0;
  void (async () => {
    for await (const s of agent.nc.status()) if (s.type === 'reconnect') reconnects++;
  })();

  const started = Date.now();
  const changed = await registrar.catchUp(publicKeyOfSeed(trust.agentSigningSeed));
  // The server closes the connections that the changed template admitted; the agent reconnects under the new one.
  await waitUntil(
    async () => {
      agent.nc.publish(subject, 'piece');
      await agent.nc.flush().catch(() => undefined);
      return { done: seen.length > 0, value: seen, state: `${agent.nc.isClosed()}:${seen.length}` };
    },
    { what: "the agent's archive piece after the push" },
  );
  process.stdout.write(`# the agent's first archive piece arrived ${Date.now() - started} ms after the push began\n`);
  // Closed by the server and reconnected (its template changed), not closed for good.
  assert.deepEqual([agent.nc.isClosed(), reconnects], [false, 1]);
  await assert.rejects(agentBus(server.url, 'host-gone', gone), BusAuthError);
  assert.deepEqual(changed, ['agent template']);
  assert.deepEqual(await registrar.catchUp(publicKeyOfSeed(trust.agentSigningSeed)), []);
});
