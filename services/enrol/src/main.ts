#!/usr/bin/env node
// yx-enrol: the enrolment service (no arguments), and the operator's commands beside it:
//   yx-enrol token HOST...   one-time enrolment tokens, one line `HOST TOKEN` each
//   yx-enrol revoke HOST...  cut the hosts off the bus (their connections close at once)
// It holds the keys that make and unmake agents (the agents' signing key, the operator's
// signing key), which is why it is a process of its own and not part of the scheduler.
import { readFile } from 'node:fs/promises';
import {
  Bus,
  busSecurityFromEnv,
  ConfigError,
  connectBus,
  connectDb,
  createLogger,
  createRegistry,
  ensureIndexes,
  idPatterns,
  int,
  logEnv,
  mongoEnv,
  natsEnv,
  REGISTRAR_INBOX_PREFIX,
  readableFile,
  readCreds,
  readEnv,
  runMain,
  serviceInboxPrefix,
  stopOnSignals,
  str,
} from '@yixing/common';
import { AccountRegistrar } from './account-registrar.ts';
import { EnrolService } from './enrol.service.ts';
import { EnrolStore, enrolModels } from './enrol.store.ts';

const USAGE = `yx-enrol — host enrolment on the bus

  yx-enrol                  serve enrolment requests (yx-agent enrol --token …)
  yx-enrol token HOST...    print a one-time enrolment token for each host (HOST TOKEN)
  yx-enrol revoke HOST...   revoke the hosts' credentials: the bus cuts them off at once
`;

const text = async (file: string): Promise<string> => (await readFile(file, 'utf8')).trim();

async function main(): Promise<void> {
  const [command = 'serve', ...hosts] = process.argv.slice(2);
  if (command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  if (!['serve', 'token', 'revoke'].includes(command)) throw new ConfigError(`unknown command ${command}\n${USAGE}`);
  const hostRe = new RegExp(idPatterns.hostId);
  const badHosts = hosts.filter((h) => !hostRe.test(h));
  if (command !== 'serve' && (hosts.length === 0 || badHosts.length > 0))
    throw new ConfigError(
      `${command}: give host ids (${idPatterns.hostId})${badHosts.length ? `; not host ids: ${badHosts.join(', ')}` : ''}`,
    );

  const cfg = readEnv({
    ...natsEnv,
    ...mongoEnv,
    ...logEnv,
    YX_ENROL_REGISTRAR_CREDS: { doc: "the system account's registrar credentials (pushes revocations)", parse: readableFile },
    YX_ENROL_AGENT_SIGNING_KEY_FILE: { doc: "seed of the fleet account's scoped agent signing key", parse: readableFile },
    YX_ENROL_OPERATOR_SIGNING_KEY_FILE: { doc: "seed of the operator's signing key (signs the account JWT)", parse: readableFile },
    YX_ENROL_JWT_FILE: { doc: "the enrolment identity's bearer JWT, carried by every token", parse: readableFile },
    YX_ENROL_TOKEN_TTL_HOURS: { doc: 'how long a token may be used', parse: int({ min: 1, max: 24 * 365 }), default: 24 },
    YX_ENROL_CREDENTIAL_DAYS: {
      doc: "how long an agent's credential lives (agents renew it at two thirds); 0: forever, and revocations are kept forever",
      parse: int({ min: 0, max: 3650 }),
      default: 0,
    },
    YX_ACTOR: { doc: 'who is recorded as creating tokens or revoking', parse: str({ pattern: /^[\w.@-]{1,64}$/ }), default: 'yx-enrol' },
  });
  const security = busSecurityFromEnv(cfg);
  if (!security.creds) throw new ConfigError('YX_NATS_CREDS is required: the enroller identity’s credentials');
  const accountPublicKey = (await readCreds(security.creds)).account;
  // The commands print their results on stdout: their logs stay quiet unless something is wrong.
  const log = createLogger('enrol', command === 'serve' ? cfg.YX_LOG_LEVEL : 'warn');

  const conn = await connectDb({ uri: cfg.YX_MONGO_URI, appName: 'yx-enrol', maxPoolSize: cfg.YX_MONGO_POOL });
  const models = enrolModels(conn);
  await ensureIndexes(conn);
  const [nc, sys] = await Promise.all([
    connectBus({ servers: cfg.YX_NATS_URL, name: 'yx-enrol', ...security, inboxPrefix: serviceInboxPrefix('enroller') }),
    connectBus({
      servers: cfg.YX_NATS_URL,
      name: 'yx-enrol-registrar',
      ...(security.tls ? { tls: security.tls } : {}),
      creds: await readFile(cfg.YX_ENROL_REGISTRAR_CREDS),
      inboxPrefix: REGISTRAR_INBOX_PREFIX,
    }),
  ]);
  const service = new EnrolService({
    bus: new Bus({ nc, log, registry: createRegistry('enrol') }),
    store: new EnrolStore(models),
    registrar: new AccountRegistrar({
      nc: sys,
      accountPublicKey,
      operatorSigningSeed: await text(cfg.YX_ENROL_OPERATOR_SIGNING_KEY_FILE),
      log,
    }),
    log,
    accountPublicKey,
    agentSigningSeed: await text(cfg.YX_ENROL_AGENT_SIGNING_KEY_FILE),
    enrolJwt: await text(cfg.YX_ENROL_JWT_FILE),
    credentialTtlMs: cfg.YX_ENROL_CREDENTIAL_DAYS * 24 * 3_600_000,
  });
  const close = async () => {
    await Promise.all([nc.drain(), sys.drain()]);
    await conn.close();
  };

  if (command === 'token') {
    for (const t of await service.createTokens(hosts, cfg.YX_ENROL_TOKEN_TTL_HOURS * 3_600_000, cfg.YX_ACTOR))
      process.stdout.write(`${t.hostId} ${t.token}\n`);
    await close();
    return;
  }
  if (command === 'revoke') {
    for (const h of hosts) process.stdout.write(`${h} revoked ${(await service.revokeHost(h, cfg.YX_ACTOR)).revoked} credential(s)\n`);
    await close();
    return;
  }
  await service.start();
  process.stdout.write('yx-enrol ready\n');
  stopOnSignals(async () => service.stop(), close);
}

runMain('yx-enrol', main);
