// The bus with JWT authentication, measured on a local nats-server running the project's
// trust chain: how fast agents connect with their own credentials, how many revocations
// the fleet account's JWT holds, what a push costs, and how soon a revoked agent is cut off.
//
//   node tests/bench/bus-auth.bench.ts [--agents 1000] [--step 2500]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createUser } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  agentInboxPrefix,
  busTrustFiles,
  connectBus,
  DEFAULT_BACKUP_BUCKET,
  ensureBusTrust,
  issueAgentCreds,
  REGISTRAR_INBOX_PREFIX,
  readCreds,
  silentLogger,
} from '@yixing/common';
import { AccountRegistrar } from '@yixing/enrol';
import { freePort, waitForPort } from '../../infra/dev/net.ts';
import { repoRoot } from '../../infra/dev/paths.ts';
import { ensureNatsServer } from '../../infra/dev/toolchain.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({ options: { agents: { type: 'string', default: '1000' }, step: { type: 'string', default: '2500' } } });
const AGENTS = Number(values.agents);
const STEP = Number(values.step);

const dir = await mkdtemp(path.join(tmpdir(), 'yx-bench-bus-auth-'));
const { trust } = await ensureBusTrust(path.join(dir, 'bus'), { backupBucket: DEFAULT_BACKUP_BUCKET });
const files = busTrustFiles(path.join(dir, 'bus'));
const conf = path.join(files.dir, 'server.conf');
await writeFile(
  conf,
  `include "${path.relative(files.dir, path.join(repoRoot, 'infra', 'nats', 'jetstream.conf'))}"\ninclude "nats-auth.conf"\n`,
);
const port = await freePort();
const server: ChildProcess = spawn(
  await ensureNatsServer(),
  ['-c', conf, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'js')],
  {
    stdio: 'ignore',
  },
);
const url = `nats://127.0.0.1:${port}`;
const conns: NatsConnection[] = [];

try {
  await waitForPort(port, () => (server.exitCode !== null ? `nats-server exited with ${server.exitCode}` : undefined));

  // Agents connecting, each with its own credential, 10 at a time (as the fleet does).
  const connectStart = performance.now();
  for (let i = 0; i < AGENTS; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, AGENTS - i) }, async (_, k) => {
        const hostId = `bench-${i + k}`;
        return connectBus({
          servers: url,
          name: hostId,
          creds: await issueAgentCreds(trust, hostId),
          inboxPrefix: agentInboxPrefix(hostId),
        });
      }),
    );
    conns.push(...batch);
  }
  const connectMs = performance.now() - connectStart;
  process.stdout.write(
    `${AGENTS} agents connected in ${(connectMs / 1000).toFixed(1)} s (${((AGENTS * 1000) / connectMs).toFixed(0)}/s)\n`,
  );

  const registrarCreds = await readFile(files.creds('registrar'));
  const sys = await connectBus({ servers: url, name: 'registrar', creds: registrarCreds, inboxPrefix: REGISTRAR_INBOX_PREFIX });
  conns.push(sys);
  const accountPublicKey = (await readCreds(await readFile(files.creds('scheduler')))).account;
  const registrar = new AccountRegistrar({
    nc: sys,
    accountPublicKey,
    operatorSigningSeed: trust.operatorSigningSeed,
    log: silentLogger(),
    timeoutMs: 60_000,
  });

  // How soon a revoked agent's connection is closed by the server (first disconnect seen).
  const victimCreds = await issueAgentCreds(trust, 'victim');
  const victimKey = (await readCreds(victimCreds)).userKey;
  const victim = await connectBus({ servers: url, name: 'victim', creds: victimCreds, inboxPrefix: agentInboxPrefix('victim') });
  conns.push(victim);
  const cut = (async () => {
    for await (const s of victim.status()) if (s.type === 'disconnect') return performance.now();
    return Number.NaN;
  })();
  const revokeStart = performance.now();
  await registrar.revoke([{ userKey: victimKey, revokedAt: new Date() }]);
  const cutMs = (await cut) - revokeStart;
  process.stdout.write(`revoked agent disconnected ${cutMs.toFixed(0)} ms after the push began\n`);

  // Revocations until the server refuses the account JWT.
  const steps: { revocations: number; jwtBytes: number; pushMs: number; agentConnectMs: number }[] = [];
  let refusedAt: number | undefined;
  let reason = '';
  for (let total = 1; ; ) {
    const keys = Array.from({ length: STEP }, () => ({ userKey: createUser().getPublicKey(), revokedAt: new Date() }));
    const t0 = performance.now();
    try {
      total = (await registrar.revoke(keys)).total;
    } catch (err) {
      refusedAt = total + STEP;
      reason = (err as Error).message;
      break;
    }
    const pushMs = performance.now() - t0;
    const jwtBytes = (await registrar.current()).jwt.length;
    const t1 = performance.now();
    const probe = await connectBus({
      servers: url,
      name: 'probe',
      creds: await issueAgentCreds(trust, 'probe'),
      inboxPrefix: agentInboxPrefix('probe'),
    });
    const agentConnectMs = performance.now() - t1;
    await probe.close();
    steps.push({ revocations: total, jwtBytes, pushMs: Math.round(pushMs), agentConnectMs: Math.round(agentConnectMs) });
    process.stdout.write(
      `${total} revocations: JWT ${jwtBytes} bytes, push ${pushMs.toFixed(0)} ms, a new agent connects in ${agentConnectMs.toFixed(0)} ms\n`,
    );
  }
  const last = steps.at(-1);
  const bytesPerRevocation = last ? last.jwtBytes / last.revocations : 0;
  process.stdout.write(`refused at ${refusedAt}: ${reason}\n~${bytesPerRevocation.toFixed(1)} bytes per revocation\n`);

  const file = await writeBenchResult('bus-auth', {
    agents: AGENTS,
    agentsConnectSeconds: Number((connectMs / 1000).toFixed(2)),
    revokedDisconnectMs: Math.round(cutMs),
    revocationSteps: steps,
    refusedAtRevocations: refusedAt,
    refusal: reason,
    bytesPerRevocation: Number(bytesPerRevocation.toFixed(1)),
  });
  process.stdout.write(`figures: ${file}\n`);
} finally {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  server.kill('SIGTERM');
  await sleep(300);
  await rm(dir, { recursive: true, force: true });
}
