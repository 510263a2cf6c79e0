// The embedded default for benchmarks: nats-server (JetStream) and FerretDB as local
// processes on loopback ports, their data in a scratch directory. FerretDB stores in
// SQLite files or in a throwaway PostgreSQL cluster of its own (infra/dev/postgresql.ts);
// DEFAULT_STORE there says which unless `store` is given.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitForPort } from '../../infra/dev/net.ts';
import { DEFAULT_STORE, ferretBackendArgs, type StoreBackend, startPostgres } from '../../infra/dev/postgresql.ts';
import { ensureFerretDb, ensureNatsServer } from '../../infra/dev/toolchain.ts';

export { parseStoreBackend, STORE_BACKENDS, type StoreBackend } from '../../infra/dev/postgresql.ts';

export interface EmbeddedServers {
  natsUrl: string;
  /** nats-server's monitoring endpoint (/varz: messages and bytes in and out). */
  natsMonitorUrl: string;
  mongoUri(db: string): string;
  store: StoreBackend;
  /** The processes that do the store's work, to sample their CPU: FerretDB, and the postmaster. */
  pids: { nats: number; ferretdb: number; postgres?: number };
  stop(): Promise<void>;
}

export async function startEmbeddedServers(dir: string, opts: { store?: StoreBackend } = {}): Promise<EmbeddedServers> {
  const store = opts.store ?? DEFAULT_STORE;
  const [natsBin, ferretBin, natsPort, monitorPort, mongoPort] = await Promise.all([
    ensureNatsServer(),
    ensureFerretDb(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const natsArgs = ['-a', '127.0.0.1', '-p', String(natsPort), '-m', String(monitorPort), '-js', '-sd', path.join(dir, 'nats')];
  const pg = store === 'postgres' ? await startPostgres() : undefined;
  const servers: ChildProcess[] = [
    spawn(natsBin, natsArgs, { stdio: 'ignore' }),
    spawn(ferretBin, [`--listen-addr=127.0.0.1:${mongoPort}`, ...ferretBackendArgs(store, path.join(dir, 'ferretdb'), pg)], {
      stdio: 'ignore',
    }),
  ];
  const stop = async (): Promise<void> => {
    for (const s of servers) s.kill('SIGTERM');
    await sleep(500);
    await pg?.stop();
  };
  try {
    const exited = (s: ChildProcess, name: string) => (): string | undefined =>
      s.exitCode !== null ? `${name} exited with ${s.exitCode} before it listened` : undefined;
    await Promise.all([
      waitForPort(natsPort, exited(servers[0] as ChildProcess, 'nats-server')),
      waitForPort(mongoPort, exited(servers[1] as ChildProcess, 'yx-ferretdb')),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    natsMonitorUrl: `http://127.0.0.1:${monitorPort}`,
    mongoUri: (db) => `mongodb://127.0.0.1:${mongoPort}/${db}`,
    store,
    pids: { nats: servers[0]?.pid as number, ferretdb: servers[1]?.pid as number, ...(pg ? { postgres: pg.pid } : {}) },
    stop,
  };
}
