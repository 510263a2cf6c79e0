// `npm start`: the whole system on the embedded default, in the foreground: nats-server
// with JetStream and FerretDB on loopback with data under .data/ (FerretDB's backend:
// YX_STORE=postgres|sqlite, DEFAULT_STORE of infra/dev/postgresql.ts otherwise), then every
// service that exists, then a demo fleet. Ctrl-C stops everything.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { buildConsole } from '../console/build.ts';
import { devApiToken } from './api-token.ts';
import { type DevBusAuth, devBusAuth } from './bus-auth.ts';
import { capture } from './exec.ts';
import { waitForPort } from './net.ts';
import { dataDir, repoRoot } from './paths.ts';
import { DEFAULT_STORE, ferretBackendArgs, type PostgresCluster, parseStoreBackend, startPostgres } from './postgresql.ts';
import { ensureFerretDb, ensureNatsServer } from './toolchain.ts';

const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}=${raw} is not a port number`);
  return n;
};

const ports = {
  nats: env('YX_NATS_PORT', 4222),
  natsMonitor: env('YX_NATS_MONITOR_PORT', 8222),
  mongo: env('YX_MONGO_PORT', 27017),
  api: env('YX_API_PORT', 8080),
  backupApi: env('YX_BACKUP_API_PORT', 8081),
  alertingApi: env('YX_ALERTING_API_PORT', 8083),
  console: env('YX_CONSOLE_PORT', 8084),
};

/** Alerts are kept, grouped and shown, and nobody is notified: the dev stack has no one to tell. */
const devAlertingConfig = path.join(repoRoot, 'infra', 'alerting', 'alerting.dev.yaml');

interface Managed {
  name: string;
  child: ChildProcess;
  log: string;
}

const running: Managed[] = [];

async function assertFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', () => reject(new Error(`port 127.0.0.1:${port} (${what}) is in use; stop what uses it or set its YX_*_PORT`)));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

function waitForServer(port: number, m: Managed): Promise<void> {
  return waitForPort(port, () => (m.child.exitCode !== null ? `${m.name} exited with ${m.child.exitCode}; see ${m.log}` : undefined)).catch(
    (err: Error) => {
      throw new Error(`${m.name}: ${err.message}; see ${m.log}`);
    },
  );
}

async function launch(name: string, cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Managed> {
  const logDir = path.join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const log = path.join(logDir, `${name}.log`);
  const out = createWriteStream(log, { flags: 'a' });
  const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const m = { name, child, log };
  running.push(m);
  child.on('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`start: ${name} exited (${signal ?? code}); see ${log}\n`);
  });
  return m;
}

let stopping = false;
/**
 * Stops in the reverse order of the start, one at a time: the services finish their stop
 * while NATS and FerretDB still answer (stopped all at once, a scheduler waited forever
 * on them). A process that outlives its own stop deadline is killed.
 */
async function stopAll(): Promise<boolean> {
  stopping = true;
  let clean = true;
  for (const m of [...running].reverse()) {
    if (m.child.exitCode !== null || m.child.signalCode !== null) continue;
    const exited = new Promise<number | null>((r) => m.child.once('exit', (code) => r(code)));
    m.child.kill('SIGTERM');
    const killer = setTimeout(() => m.child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(killer);
    if (code !== 0) {
      clean = false;
      process.stderr.write(`start: ${m.name} did not stop cleanly (${code ?? m.child.signalCode}); see ${m.log}\n`);
    }
  }
  return clean;
}

const natsUrl = `nats://127.0.0.1:${ports.nats}`;
const mongoUri = `mongodb://127.0.0.1:${ports.mongo}/yixing`;
const fleetSize = Number(process.env.YX_FLEET_SIZE ?? '60');

/** Services that exist so far, in start order; each is the package's main.ts and connects to NATS as itself. */
function services(bus: DevBusAuth, apiEnv: Record<string, string>): { name: string; main: string; env: Record<string, string> }[] {
  const common = { YX_NATS_URL: natsUrl, YX_MONGO_URI: mongoUri };
  const list = [
    {
      name: 'scheduler',
      main: 'services/scheduler/src/main.ts',
      env: { ...common, ...bus.env.scheduler, ...apiEnv, YX_API_PORT: String(ports.api) },
    },
    {
      name: 'backup',
      main: 'services/backup/src/main.ts',
      env: { ...common, ...bus.env.backup, ...apiEnv, YX_API_PORT: String(ports.backupApi) },
    },
    {
      name: 'alerting',
      main: 'services/alerting/src/main.ts',
      env: {
        ...common,
        ...bus.env.alerting,
        ...apiEnv,
        YX_API_PORT: String(ports.alertingApi),
        YX_ALERTING_CONFIG: devAlertingConfig,
        YX_CONSOLE_URL: `http://127.0.0.1:${ports.console}`,
      },
    },
    {
      name: 'console',
      main: 'services/console/src/main.ts',
      env: {
        YX_API_PORT: String(ports.console),
        YX_CONSOLE_SCHEDULER_API: `http://127.0.0.1:${ports.api}`,
        YX_CONSOLE_ALERTING_API: `http://127.0.0.1:${ports.alertingApi}`,
        YX_CONSOLE_BACKUP_API: `http://127.0.0.1:${ports.backupApi}`,
      },
    },
    { name: 'enrol', main: 'services/enrol/src/main.ts', env: bus.env.enrol },
    {
      name: 'host-agent-demo-fleet',
      main: 'services/host-agent/src/main.ts',
      // The demo's hosts back up for real (a small tree each) through the backup service.
      env: {
        ...common,
        ...bus.env.fleet,
        YX_AGENT_MODE: 'fleet',
        YX_FLEET_SIZE: String(fleetSize),
        YX_FLEET_CLUSTERS: '6',
        YX_FLEET_BACKUPS: 'service',
        YX_STATE_DIR: path.join(dataDir, 'agents'),
      },
    },
  ];
  return list.filter((s) => existsSync(path.join(repoRoot, s.main)));
}

const store = parseStoreBackend(process.env.YX_STORE ?? DEFAULT_STORE, 'YX_STORE');

/**
 * Where FerretDB's PostgreSQL is kept: .data/postgresql; as root in the postgres user's
 * home instead (.data is 0700, it holds credentials, and postgres refuses to run as root),
 * tied to this .data by a note in it, so that deleting .data starts that one afresh too.
 * Clusters whose .data is gone (a README test's, deleted after it) are removed here.
 */
async function devPostgresDir(): Promise<string> {
  if (process.getuid?.() !== 0) return path.join(dataDir, 'postgresql');
  const home = '/var/lib/postgresql';
  const note = path.join(dataDir, 'postgresql-dir');
  for (const owner of existsSync(home) ? (await readdir(home)).filter((f) => /^yixing-[0-9a-f]+\.owner$/.test(f)) : []) {
    const of = (await readFile(path.join(home, owner), 'utf8')).trim();
    if (!existsSync(path.join(of, 'postgresql-dir'))) {
      await rm(path.join(home, owner.replace(/\.owner$/, '')), { recursive: true, force: true });
      await rm(path.join(home, owner), { force: true });
    }
  }
  const dir = path.join(home, `yixing-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
  if (!existsSync(note)) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await mkdir(home, { recursive: true });
    await writeFile(`${dir}.owner`, `${dataDir}\n`);
    await writeFile(note, `${dir}\n`);
  }
  return dir;
}

let pgDir = '';

/** FerretDB's PostgreSQL (devPostgresDir); stopped last, after FerretDB. */
async function startDevPostgres(): Promise<PostgresCluster> {
  const logDir = path.join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const log = path.join(logDir, 'postgresql.log');
  pgDir = await devPostgresDir();
  const pg = await startPostgres({ dir: pgDir, logFile: log });
  running.push({ name: 'postgresql', child: pg.process, log });
  return pg;
}

async function main(): Promise<void> {
  await assertFree(ports.nats, 'NATS');
  await assertFree(ports.natsMonitor, 'NATS monitoring');
  await assertFree(ports.mongo, 'FerretDB');
  const [natsBin, ferretBin] = await Promise.all([ensureNatsServer(), ensureFerretDb()]);
  if (!Number.isInteger(fleetSize) || fleetSize < 1) throw new Error(`YX_FLEET_SIZE=${process.env.YX_FLEET_SIZE} is not a number of hosts`);
  const bus = await devBusAuth(dataDir, natsUrl, mongoUri, { size: fleetSize, prefix: 'sim' });

  const nats = await launch('nats-server', natsBin, [
    '-c',
    bus.serverConf,
    '-a',
    '127.0.0.1',
    '-p',
    String(ports.nats),
    '-m',
    String(ports.natsMonitor),
    '-js',
    '-sd',
    path.join(dataDir, 'nats'),
    '-n',
    'yixing-dev',
  ]);
  const pg = store === 'postgres' ? await startDevPostgres() : undefined;
  const mongo = await launch('ferretdb', ferretBin, [
    `--listen-addr=127.0.0.1:${ports.mongo}`,
    ...ferretBackendArgs(store, path.join(dataDir, 'ferretdb'), pg),
  ]);
  await waitForServer(ports.nats, nats);
  await waitForServer(ports.mongo, mongo);

  const consoleBuild = await buildConsole();
  process.stderr.write(`start: console ${consoleBuild.built ? 'built' : 'up to date'} (${Math.round(consoleBuild.ms)} ms)\n`);
  const started: string[] = [];
  const apiToken = await devApiToken(dataDir);
  for (const s of services(bus, apiToken.env)) {
    await launch(s.name, process.execPath, [s.main], s.env);
    started.push(s.name);
  }

  const enrolment = started.includes('enrol') ? await sampleEnrolment(bus) : [];
  const lines = [
    '',
    'Yixing is running (embedded default). Ctrl-C stops everything.',
    `  NATS         ${natsUrl}   monitoring http://127.0.0.1:${ports.natsMonitor}/`,
    `               JWT authentication${bus.created ? ' (operator, accounts and keys made now)' : ''}: ${bus.files.dir}/`,
    `               every service its own credential; full access: --creds ${bus.files.creds('admin')}`,
    `  FerretDB     mongodb://127.0.0.1:${ports.mongo}/yixing   on ${store === 'postgres' ? `PostgreSQL (${pgDir}/)` : `SQLite (${path.join(dataDir, 'ferretdb')}/)`}; YX_STORE=${store === 'postgres' ? 'sqlite' : 'postgres'} for the other`,
    ...(started.includes('scheduler')
      ? [
          `  API          http://127.0.0.1:${ports.api}/v1   OpenAPI http://127.0.0.1:${ports.api}/docs/json`,
          `  metrics      http://127.0.0.1:${ports.api}/metrics`,
          `  backups      http://127.0.0.1:${ports.backupApi}/v1/backups`,
          `  CLI          PATH=$PWD/node_modules/.bin:$PATH YX_API=http://127.0.0.1:${ports.api} yx hosts list`,
          ...apiToken.lines,
        ]
      : []),
    ...(started.includes('alerting')
      ? [
          `  alerts       http://127.0.0.1:${ports.alertingApi}/v1/alerts   metrics http://127.0.0.1:${ports.alertingApi}/metrics`,
          `               CLI: YX_ALERTING_API=http://127.0.0.1:${ports.alertingApi} yx alerts list   (and yx silences list)`,
          `               config ${path.relative(repoRoot, devAlertingConfig)}: no receivers, nobody is notified (see alerting.example.yaml)`,
        ]
      : []),
    ...(started.includes('console')
      ? [`  console      http://127.0.0.1:${ports.console}/   sign in: paste the API token above ($YX_TOKEN)`]
      : []),
    `  services     ${started.length > 0 ? started.join(', ') : '(none yet)'}`,
    ...enrolment,
    `  logs         ${path.join(dataDir, 'logs')}/`,
    `  data         ${dataDir}/ (delete it to start from scratch)`,
    '',
  ];
  process.stdout.write(lines.join('\n'));

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stdout.write('\nstopping...\n');
      void stopAll().then((clean) => process.exit(clean ? 0 : 1));
    });
  }
}

/** A token for one more host, and the commands that enrol and run it. */
async function sampleEnrolment(bus: DevBusAuth): Promise<string[]> {
  const stateDir = path.join(dataDir, 'dev-host-1');
  const out = await capture(process.execPath, ['services/enrol/src/main.ts', 'token', 'dev-host-1'], {
    cwd: repoRoot,
    env: { ...process.env, ...bus.env.enrol },
  });
  const token = out.stdout.trim().split(' ')[1];
  if (out.code !== 0 || !token) return [`  enrol a host (no token made: ${out.stderr.trim()})`];
  return [
    `  enrol a host yx-agent enrol --server ${natsUrl} --host-id dev-host-1 --state-dir ${stateDir} --token ${token}`,
    `               then: YX_AGENT_MODE=host YX_HOST_ID=dev-host-1 YX_STATE_DIR=${stateDir} YX_NATS_URL=${natsUrl} yx-agent`,
    `               more tokens: env $(cat ${bus.enrolEnvFile}) yx-enrol token HOST...   cut a host off: … yx-enrol revoke HOST`,
  ];
}

main().catch(async (err: Error) => {
  process.stderr.write(`npm start: ${err.message}\n`);
  await stopAll();
  process.exit(1);
});
