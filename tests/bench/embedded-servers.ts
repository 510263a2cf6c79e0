// The embedded default for benchmarks: nats-server (JetStream) and FerretDB as local
// processes on loopback ports, their data in a scratch directory. FerretDB stores in
// SQLite files (the default) or, with `store: 'postgres'`, in a throwaway PostgreSQL
// cluster of its own (infra/dev/postgresql.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '@yixing/common';
import { freePort, waitForPort } from '../../infra/dev/net.ts';
import { type PostgresCluster, startPostgres } from '../../infra/dev/postgresql.ts';
import { ensureFerretDb, ensureNatsServer } from '../../infra/dev/toolchain.ts';

/** FerretDB's backend: SQLite files, or PostgreSQL (Debian's). */
export type StoreBackend = 'sqlite' | 'postgres';
export const STORE_BACKENDS: readonly StoreBackend[] = ['sqlite', 'postgres'];

/** A `--store` value as given on a command line. */
export function parseStoreBackend(value: string): StoreBackend {
  if ((STORE_BACKENDS as readonly string[]).includes(value)) return value as StoreBackend;
  throw new ConfigError(`--store ${JSON.stringify(value)}: use ${STORE_BACKENDS.join(' or ')}`);
}

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

/** yx-ferretdb's backend flags for one store. */
export function ferretBackendArgs(store: StoreBackend, dataDir: string, pg: PostgresCluster | undefined): string[] {
  if (store === 'sqlite') return ['--handler=sqlite', `--data-dir=${dataDir}`];
  if (!pg) throw new ConfigError('the postgres store needs its cluster started first');
  return ['--handler=pg', `--postgresql-url=${pg.url()}`];
}

export async function startEmbeddedServers(dir: string, opts: { store?: StoreBackend } = {}): Promise<EmbeddedServers> {
  const store = opts.store ?? 'sqlite';
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
