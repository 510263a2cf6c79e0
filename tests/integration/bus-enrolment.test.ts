// Enrolment and revocation against a real nats-server with JWT authentication and a real
// store: a one-time token gets a host its own credential (once), and revoking the host
// makes the server close its connection and refuse the credential from then on.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createUser } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  agentInboxPrefix,
  Bus,
  BusAuthError,
  catalog,
  connectBus,
  createRegistry,
  ENROL_INBOX_PREFIX,
  parseEnrolToken,
  readCreds,
  silentLogger,
  subjectPattern,
} from '@yixing/common';
import { EnrolmentRefusedError, enrolHost } from '@yixing/host-agent/internal';
import { type EnrolmentFixture, startEnrolment } from '../fixtures/enrolment.ts';
import { waitUntil } from '../fixtures/wait.ts';

let e: EnrolmentFixture;

before(async () => {
  e = await startEnrolment('enrolment');
});

after(() => e?.stop());

const token = async (hostId: string): Promise<string> =>
  ((await e.service.createTokens([hostId], 3_600_000, 'test'))[0] as { token: string }).token;
const credsFile = (name: string): string => path.join(e.dir, name, 'bus.creds');

async function connectAs(hostId: string, file: string): Promise<NatsConnection> {
  const nc = await connectBus({ servers: e.nats.url, name: hostId, creds: await readFile(file), inboxPrefix: agentInboxPrefix(hostId) });
  e.conns.push(nc);
  return nc;
}

test('an enrolment token works once only, for its own host, and the credential is 0600', async () => {
  const t = await token('web-1');
  const file = credsFile('web-1');
  await enrolHost({ servers: [e.nats.url], hostId: 'web-1', token: t, credsFile: file });
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await readCreds(await readFile(file))).name, 'web-1');

  // The credential works, for this host's subjects.
  const nc = await connectAs('web-1', file);
  const seen: string[] = [];
  const admin = await connectBus({ servers: e.nats.url, name: 'admin', creds: await (e.nats.auth?.creds('admin') ?? Promise.reject()) });
  e.conns.push(admin);
  admin.subscribe(catalog.heartbeat.filter, { callback: (_e, m) => void seen.push(m.subject) });
  await admin.flush();
  nc.publish(subjectPattern('heartbeat', { hostId: 'web-1' }), 'x');
  await waitUntil(async () => ({ done: seen.length > 0, value: seen, state: seen.join() }), { what: 'the heartbeat' });

  await assert.rejects(
    enrolHost({ servers: [e.nats.url], hostId: 'web-1', token: t, credsFile: credsFile('web-1-again') }),
    (e: unknown) => e instanceof EnrolmentRefusedError && /used already/.test(e.message),
  );
  await assert.rejects(
    enrolHost({ servers: [e.nats.url], hostId: 'web-2', token: await token('web-1'), credsFile: credsFile('web-2') }),
    (e: unknown) => e instanceof EnrolmentRefusedError && /another host/.test(e.message),
  );
});

test('one token raced by five enrolments: exactly one host gets a credential', async () => {
  const t = await token('web-3');
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, (_, i) => enrolHost({ servers: [e.nats.url], hostId: 'web-3', token: t, credsFile: credsFile(`race-${i}`) })),
  );
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
});

test('the enrolment identity can ask for enrolment and nothing else', async () => {
  const { enrolJwt } = parseEnrolToken(await token('web-4'));
  const nc = await connectBus({ servers: e.nats.url, name: 'enrolling', bearerJwt: enrolJwt, inboxPrefix: ENROL_INBOX_PREFIX });
  e.conns.push(nc);
  const bus = new Bus({ nc, log: silentLogger(), registry: createRegistry('test') });
  await assert.rejects(bus.request('agentCommand', { commandId: 'c', hostId: 'web-1', runId: 'r' }, 1_000));
  // Its requests land in another account: no agent or service can be reached from it.
  await assert.rejects(bus.request('agentRegistration', { hostId: 'web-4', facts: {}, driver: 'apt' } as never, 1_000));
  const forged = await bus.request('enrolRequest', { hostId: 'web-4', token: 'f'.repeat(64), userPublicKey: createUser().getPublicKey() });
  assert.deepEqual([forged.accepted, forged.reason], [false, 'unknown enrolment token']);
});

test('a revoked host is cut off at once and its credential refused; enrolling again revokes the old one', async () => {
  const file = credsFile('web-5');
  await enrolHost({ servers: [e.nats.url], hostId: 'web-5', token: await token('web-5'), credsFile: file });
  const nc = await connectAs('web-5', file);
  const started = Date.now();
  assert.deepEqual(await e.service.revokeHost('web-5', 'test'), { revoked: 1 });
  // Refused from now on (checked first: without the revocation this fails at once)...
  await assert.rejects(connectAs('web-5', file), BusAuthError);
  // ...and the connection it had is closed by the server.
  await nc.closed();
  process.stdout.write(`# revoked connection closed ${Date.now() - started} ms after revokeHost was called\n`);

  // Enrolling again gives a new credential and revokes the one before it.
  const first = credsFile('web-6a');
  await enrolHost({ servers: [e.nats.url], hostId: 'web-6', token: await token('web-6'), credsFile: first });
  const old = await connectAs('web-6', first);
  await enrolHost({ servers: [e.nats.url], hostId: 'web-6', token: await token('web-6'), credsFile: credsFile('web-6b') });
  await old.closed();
  await connectAs('web-6', credsFile('web-6b'));
  await assert.rejects(connectAs('web-6', first), BusAuthError);
});
