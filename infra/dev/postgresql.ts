// PostgreSQL as a local process, for FerretDB's pg backend: Debian's server programs
// (/usr/lib/postgresql/N/bin), the postmaster listening only on a unix socket in the
// cluster's own directory (no TCP, nothing shared with a system cluster), trust
// authentication, a `ferretdb` database. A throwaway cluster (tests, benchmarks) lives in
// a temporary directory removed at stop; `./dev start` keeps its own under .data/. As root
// it runs as the `postgres` user Debian's package creates: postgres refuses to run as root.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, UnavailableError } from '@yixing/common';
import { capture } from './exec.ts';
import { freePort } from './net.ts';
import { ensureHostPrograms } from './toolchain.ts';

export interface PostgresCluster {
  /** A connection URL for FerretDB's pg handler (pgx): the unix socket, user postgres. */
  url(database?: string): string;
  /** The postmaster; its backends are its children (see `clusterPids`). */
  process: ChildProcess;
  pid: number;
  /** Fast shutdown (SIGINT); a throwaway cluster's directory is removed. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** A directory kept across starts; by default a new temporary one, removed at stop. */
  dir?: string;
  /** The socket's port number (its file name); by default a free TCP port's. */
  port?: number;
  /** Where the server's own log goes (appended); by default only its last lines, for errors. */
  logFile?: string;
}

/** FerretDB's backend: SQLite files, or PostgreSQL (Debian's). */
export type StoreBackend = 'sqlite' | 'postgres';
export const STORE_BACKENDS: readonly StoreBackend[] = ['sqlite', 'postgres'];
/** The embedded default of `./dev start` and the benchmarks (BENCHMARKS.md, issue 18, says why). */
export const DEFAULT_STORE: StoreBackend = 'sqlite';

/** A store backend as given (`what` names where: `--store`, `YX_STORE`). */
export function parseStoreBackend(value: string, what = '--store'): StoreBackend {
  if ((STORE_BACKENDS as readonly string[]).includes(value)) return value as StoreBackend;
  throw new ConfigError(`${what} ${JSON.stringify(value)}: use ${STORE_BACKENDS.join(' or ')}`);
}

/** yx-ferretdb's backend flags for one store. */
export function ferretBackendArgs(store: StoreBackend, dataDir: string, pg: Pick<PostgresCluster, 'url'> | undefined): string[] {
  if (store === 'sqlite') return ['--handler=sqlite', `--data-dir=${dataDir}`];
  if (!pg) throw new ConfigError('the postgres store needs its cluster started first');
  return ['--handler=pg', `--postgresql-url=${pg.url()}`];
}

const SUPERUSER = 'postgres';
export const FERRETDB_DATABASE = 'ferretdb';

/** The newest `/usr/lib/postgresql/N/bin` that has a server, from the names of the versions found. */
export function newestServerBin(versions: readonly string[], hasServer: (bin: string) => boolean): string | undefined {
  return [...versions]
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => `/usr/lib/postgresql/${v}/bin`)
    .find((bin) => hasServer(bin));
}

/** uid and gid of `user` from the text of /etc/passwd. */
export function passwdIds(passwd: string, user: string): { uid: number; gid: number } | undefined {
  const line = passwd.split('\n').find((l) => l.startsWith(`${user}:`));
  const f = line?.split(':');
  if (!f || f.length < 4) return undefined;
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

async function serverBin(): Promise<string> {
  await ensureHostPrograms('postgresql');
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? await readdir(root) : [];
  const bin = newestServerBin(versions, (b) => existsSync(path.join(b, 'postgres')) && existsSync(path.join(b, 'initdb')));
  if (!bin) throw new ConfigError(`no PostgreSQL server under ${root}/N/bin: install Debian's postgresql (apt-get install postgresql)`);
  return bin;
}

type Ids = { uid: number; gid: number } | undefined;

/** Who the cluster runs as: this process, or `postgres` when this is root. */
async function clusterUser(): Promise<Ids> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = passwdIds(await readFile('/etc/passwd', 'utf8'), SUPERUSER);
  if (!ids) throw new ConfigError(`no \`${SUPERUSER}\` user: Debian's postgresql package creates it (postgres refuses to run as root)`);
  return ids;
}

const asUser = (as: Ids) => (as ? { uid: as.uid, gid: as.gid, env: { ...process.env, HOME: os.tmpdir() } } : {});

async function must(what: string, bin: string, args: string[], as: Ids): Promise<void> {
  const r = await capture(bin, args, asUser(as));
  if (r.code !== 0) throw new UnavailableError(`${what} failed (${path.basename(bin)} exited ${r.code}): ${r.stderr.trim().slice(-500)}`);
}

/** Creates the database in single-user mode (no server, no socket yet). */
function createDatabase(bin: string, dataDir: string, as: Ids): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(bin, 'postgres'), ['--single', '-D', dataDir, 'postgres'], {
      ...asUser(as),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-1000);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new UnavailableError(`creating the ${FERRETDB_DATABASE} database failed (exit ${code}): ${err.trim()}`)),
    );
    child.stdin?.end(`CREATE DATABASE ${FERRETDB_DATABASE};\n`);
  });
}

/** As root, the `postgres` user must reach the directory: a checkout under a root-only home cannot host it. */
async function assertReachable(dir: string, as: Ids): Promise<void> {
  if (!as) return;
  const probe = `require('node:fs').accessSync(${JSON.stringify(dir)}, require('node:fs').constants.W_OK | require('node:fs').constants.X_OK)`;
  const r = await capture(process.execPath, ['-e', probe], asUser(as));
  if (r.code !== 0)
    throw new ConfigError(
      `the postgres user cannot write ${dir}: make its parent directories traversable (chmod o+x), or use YX_STORE=sqlite`,
    );
}

/** postmaster.pid's 8th line is the server's status; "ready" once it accepts connections. */
async function waitReady(dataDir: string, server: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (server.exitCode !== null || server.signalCode !== null)
      throw new UnavailableError(`postgres exited (${server.exitCode ?? server.signalCode}) before it was ready: ${log().trim()}`);
    const pidFile = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
    if (pidFile.split('\n')[7]?.trim() === 'ready') return;
    await sleep(100);
  }
  throw new UnavailableError(`postgres was not ready within 60 s: ${log().trim()}`);
}

/** Starts a cluster with a `ferretdb` database (made on the first start of a kept one); the caller stops it. */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresCluster> {
  const [bin, as, port] = await Promise.all([serverBin(), clusterUser(), opts.port ?? freePort()]);
  // A throwaway cluster gets a directory of its own: the caller's may be 0700 root's.
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'yx-pg-')));
  const throwaway = opts.dir === undefined;
  await mkdir(dir, { recursive: true });
  if (as) await chown(dir, as.uid, as.gid);
  await assertReachable(dir, as);
  const dataDir = path.join(dir, 'data');
  let server: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGINT');
      await exited;
    }
    if (throwaway) await rm(dir, { recursive: true, force: true });
  };
  try {
    // Made aside and renamed: a data directory that exists is a whole one, database included.
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      const fresh = path.join(dir, 'data.new');
      await rm(fresh, { recursive: true, force: true });
      await mkdir(fresh, { mode: 0o700 });
      if (as) await chown(fresh, as.uid, as.gid);
      await must(
        'initdb',
        path.join(bin, 'initdb'),
        ['-D', fresh, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
        as,
      );
      await createDatabase(bin, fresh, as);
      await rm(dataDir, { recursive: true, force: true });
      await rename(fresh, dataDir);
    }
    server = spawn(path.join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses='], {
      ...asUser(as),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    const file = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
    server.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2000);
      file?.write(d);
    });
    await waitReady(dataDir, server, () => tail);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: (database = FERRETDB_DATABASE) =>
      `postgres://${SUPERUSER}@/${database}?host=${encodeURIComponent(dir)}&port=${port}&sslmode=disable`,
    process: server,
    pid: server.pid as number,
    stop,
  };
}

/** The postmaster and its backends now (its children, from /proc/<pid>/stat's ppid). */
export async function clusterPids(postmaster: number): Promise<number[]> {
  const pids = [postmaster];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === postmaster) pids.push(Number(name));
  }
  return pids;
}
