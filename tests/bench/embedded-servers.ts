// The embedded default for benchmarks: nats-server (JetStream) and FerretDB as local
// processes on loopback ports, their data in a scratch directory.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitForPort } from '../../infra/dev/net.ts';
import { ensureFerretDb, ensureNatsServer } from '../../infra/dev/toolchain.ts';

export interface EmbeddedServers {
  natsUrl: string;
  /** nats-server's monitoring endpoint (/varz: messages and bytes in and out). */
  natsMonitorUrl: string;
  mongoUri(db: string): string;
  /** The servers' process ids, for their CPU (proc-sample.ts). */
  pids: { nats: number; store: number };
  stop(): Promise<void>;
}

export async function startEmbeddedServers(dir: string): Promise<EmbeddedServers> {
  const [natsBin, ferretBin, natsPort, monitorPort, mongoPort] = await Promise.all([
    ensureNatsServer(),
    ensureFerretDb(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const natsArgs = ['-a', '127.0.0.1', '-p', String(natsPort), '-m', String(monitorPort), '-js', '-sd', path.join(dir, 'nats')];
  const servers: ChildProcess[] = [
    spawn(natsBin, natsArgs, { stdio: 'ignore' }),
    spawn(ferretBin, [`--listen-addr=127.0.0.1:${mongoPort}`, `--data-dir=${path.join(dir, 'ferretdb')}`], { stdio: 'ignore' }),
  ];
  const stop = async (): Promise<void> => {
    for (const s of servers) s.kill('SIGTERM');
    await sleep(500);
  };
  try {
    const alive = (): undefined => undefined;
    await Promise.all([waitForPort(natsPort, alive), waitForPort(mongoPort, alive)]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    natsMonitorUrl: `http://127.0.0.1:${monitorPort}`,
    mongoUri: (db) => `mongodb://127.0.0.1:${mongoPort}/${db}`,
    pids: { nats: servers[0]?.pid as number, store: servers[1]?.pid as number },
    stop,
  };
}
