// Builds or installs what the project needs and the machine lacks, idempotently, into the
// git-ignored .cache/. Each ensure* function is a no-op when its result already exists.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { capture, commandExists, run } from './exec.ts';
import { HOST_PROGRAMS, type HostProgram, type ProgramGroup, planInstall } from './host-programs.ts';
import { binDir, cacheDir, repoRoot } from './paths.ts';
import { FERRETDB_VERSION, MAILPIT_MODULE, MAILPIT_VERSION, NATS_SERVER_MODULE, NATS_SERVER_VERSION } from './versions.ts';

const log = (msg: string): void => {
  process.stderr.write(`setup: ${msg}\n`);
};

const isProgram = (program: string): boolean => {
  if (program.startsWith('/')) return existsSync(program);
  // root's PATH may lack the sbin directories (chroot, iptables live there).
  const dirs = new Set([...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin']);
  return [...dirs].some((d) => existsSync(path.join(d, program)));
};

/**
 * Installs the Debian packages of every program of these groups that is missing, then
 * checks that each program is there: a fresh machine fails here, with one line, or not at all.
 */
export async function ensureHostPrograms(...groups: ProgramGroup[]): Promise<void> {
  const programs = Object.assign({}, ...groups.map((g) => HOST_PROGRAMS[g])) as Record<string, HostProgram>;
  const { packages, unavailable } = planInstall(programs, isProgram);
  if (unavailable.length > 0) {
    throw new Error(`missing ${unavailable.map((u) => `\`${u.program}\` (${u.for})`).join(', ')}: install it and put it on PATH`);
  }
  if (packages.length > 0) await installDebianPackages(packages);
  const missing = Object.keys(programs).filter((p) => !isProgram(p));
  if (missing.length > 0) throw new Error(`still missing after apt-get install ${packages.join(' ')}: ${missing.join(', ')}`);
}

async function installDebianPackages(packages: string[]): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: ${packages.join(' ')}; install them as root (apt-get install ${packages.join(' ')})`);
  }
  log(`apt-get install ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for another apt (an unattended upgrade, a second test run) instead of failing.
  const install = ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-q', '--no-install-recommends', ...packages];
  try {
    await run('apt-get', install, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update', '-q'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    await run('apt-get', install, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

async function goBuildEnv(): Promise<NodeJS.ProcessEnv> {
  if (!(await commandExists('go'))) throw new Error('Go is required to build nats-server, FerretDB and Mailpit; `go` is not on PATH');
  // Static binaries: they run FROM scratch in images as well as on the host.
  return { ...process.env, CGO_ENABLED: '0' };
}

/** A program `go install`ed from its module at a pinned version into .cache/bin/<name>-<version>. */
async function ensureGoInstalled(name: string, module: string, version: string, note = ''): Promise<string> {
  const target = path.join(binDir, `${name}-${version}`);
  if (existsSync(target)) return target;
  log(`go install ${module}@${version}${note}`);
  const gobin = path.join(cacheDir, 'gobin');
  await mkdir(binDir, { recursive: true });
  await run('go', ['install', '-trimpath', `${module}@${version}`], { env: { ...(await goBuildEnv()), GOBIN: gobin } });
  await rename(path.join(gobin, name), target);
  return target;
}

/** nats-server built from its Go module at the pinned release. */
export function ensureNatsServer(): Promise<string> {
  return ensureGoInstalled('nats-server', NATS_SERVER_MODULE, NATS_SERVER_VERSION);
}

/**
 * Mailpit, the email receiver tests' SMTP server, built from its Go module. The module
 * lacks the web UI's built assets (its HTTP API, which the tests read, works without them).
 */
export function ensureMailpit(): Promise<string> {
  return ensureGoInstalled('mailpit', MAILPIT_MODULE, MAILPIT_VERSION, ', two to five minutes the first time');
}

async function ferretSourceHash(): Promise<string> {
  const dir = path.join(repoRoot, 'infra', 'ferretdb');
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) h.update(await readFile(path.join(dir, f)));
  return h.digest('hex').slice(0, 12);
}

/** The FerretDB program of infra/ferretdb, rebuilt when its source changes. */
export async function ensureFerretDb(): Promise<string> {
  const target = path.join(binDir, `yx-ferretdb-${await ferretSourceHash()}`);
  if (existsSync(target)) return target;
  log(`building FerretDB ${FERRETDB_VERSION} (infra/ferretdb), about a minute the first time`);
  await mkdir(binDir, { recursive: true });
  const tmp = `${target}.tmp`;
  await run('go', ['build', '-trimpath', '-o', tmp, '.'], {
    cwd: path.join(repoRoot, 'infra', 'ferretdb'),
    env: await goBuildEnv(),
  });
  await rename(tmp, target);
  return target;
}

export interface ContainerEngine {
  /** CLI that builds images for this engine: `podman` or `docker`. */
  cli: 'podman' | 'docker';
  dockerHost: string;
}

async function ping(socket: string): Promise<boolean> {
  const r = await capture('curl', ['-sf', '--max-time', '3', '--unix-socket', socket, 'http://d/_ping']);
  return r.code === 0 && r.stdout.trim() === 'OK';
}

const PODMAN_SOCKET = '/run/podman/podman.sock';
const CONTAINERS_CONF = `# Written by Yixing's infra/dev/toolchain.ts: runc runtime, no default ulimits
[containers]
default_ulimits = []

[engine]
runtime = "runc"
`;

/**
 * A Docker-API engine for testcontainers: the user's DOCKER_HOST or Docker socket when
 * one answers, otherwise Podman's API service with the runc runtime, started here.
 */
export async function ensureContainerEngine(): Promise<ContainerEngine> {
  // curl asks the engine's socket below; the rest of the base is needed whatever the engine.
  await ensureHostPrograms('base');
  const given = process.env.DOCKER_HOST;
  if (given) {
    if (given.startsWith('unix://') && !(await ping(given.slice('unix://'.length)))) {
      throw new Error(`DOCKER_HOST=${given} does not answer; start that engine or unset DOCKER_HOST`);
    }
    return { cli: given.includes('podman') ? 'podman' : 'docker', dockerHost: given };
  }
  if (await ping('/var/run/docker.sock')) {
    return { cli: 'docker', dockerHost: 'unix:///var/run/docker.sock' };
  }
  await ensureHostPrograms('containers');
  const confPath = '/etc/containers/containers.conf';
  const current = existsSync(confPath) ? await readFile(confPath, 'utf8') : '';
  if (!/runtime\s*=\s*"runc"/.test(current) || !/default_ulimits\s*=\s*\[\]/.test(current)) {
    log(`writing ${confPath} (runc runtime, no default ulimits)`);
    await mkdir('/etc/containers', { recursive: true });
    if (current) await copyFile(confPath, `${confPath}.yixing-backup`);
    await writeFile(confPath, CONTAINERS_CONF);
  }
  if (!(await ping(PODMAN_SOCKET))) {
    log(`starting podman system service on ${PODMAN_SOCKET}`);
    await mkdir(path.dirname(PODMAN_SOCKET), { recursive: true });
    await mkdir(cacheDir, { recursive: true });
    // Started from /: the service outlives this checkout, and the containers it starts
    // inherit its working directory; once a CI clone it was started from is deleted, every
    // container start fails with `write child: broken pipe`.
    await run('sh', ['-c', `cd / && nohup podman system service --time=0 unix://${PODMAN_SOCKET} >${cacheDir}/podman-service.log 2>&1 &`]);
    for (let i = 0; i < 100 && !(await ping(PODMAN_SOCKET)); i++) await new Promise((r) => setTimeout(r, 100));
    if (!(await ping(PODMAN_SOCKET)))
      throw new Error(`podman service did not answer on ${PODMAN_SOCKET}; see ${cacheDir}/podman-service.log`);
  }
  return { cli: 'podman', dockerHost: `unix://${PODMAN_SOCKET}` };
}

async function imageExists(engine: ContainerEngine, image: string): Promise<boolean> {
  const r = await capture(engine.cli, ['image', 'inspect', image], { env: { ...process.env, DOCKER_HOST: engine.dockerHost } });
  return r.code === 0;
}

async function buildScratchImage(
  engine: ContainerEngine,
  image: string,
  binary: string,
  name: string,
  entrypoint: string[],
): Promise<void> {
  if (await imageExists(engine, image)) return;
  log(`building image ${image} FROM scratch`);
  const ctx = path.join(cacheDir, 'images', name);
  await rm(ctx, { recursive: true, force: true });
  await mkdir(ctx, { recursive: true });
  await copyFile(binary, path.join(ctx, name));
  await chmod(path.join(ctx, name), 0o755);
  await writeFile(
    path.join(ctx, 'Containerfile'),
    ['FROM scratch', `COPY ${name} /${name}`, `ENTRYPOINT ${JSON.stringify(entrypoint)}`, ''].join('\n'),
  );
  await run(engine.cli, ['build', '-q', '-t', image, '-f', path.join(ctx, 'Containerfile'), ctx], {
    env: { ...process.env, DOCKER_HOST: engine.dockerHost },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export interface TestImages {
  nats: string;
  mongo: string;
}

/**
 * Images for the testcontainers fixtures. YX_NATS_IMAGE and YX_MONGO_IMAGE name other
 * images (for example the public `nats` and `mongo` ones on a machine with Docker);
 * otherwise they are built here from the static binaries.
 */
export async function ensureTestImages(engine: ContainerEngine): Promise<TestImages> {
  const nats = process.env.YX_NATS_IMAGE ?? `localhost/yixing/nats-server:${NATS_SERVER_VERSION}`;
  const mongo = process.env.YX_MONGO_IMAGE ?? `localhost/yixing/ferretdb:${await ferretSourceHash()}`;
  if (!process.env.YX_NATS_IMAGE) await buildScratchImage(engine, nats, await ensureNatsServer(), 'nats-server', ['/nats-server']);
  if (!process.env.YX_MONGO_IMAGE) {
    await buildScratchImage(engine, mongo, await ensureFerretDb(), 'yx-ferretdb', [
      '/yx-ferretdb',
      '--listen-addr=0.0.0.0:27017',
      '--data-dir=/data',
    ]);
  }
  return { nats, mongo };
}

/** Reads the first line a server sends on 127.0.0.1:port, or fails after `ms`. */
function firstLine(port: number, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`nothing read from 127.0.0.1:${port} within ${ms / 1000} s`));
    }, ms);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf.slice(0, buf.indexOf('\n')));
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Proves the engine can do what every container test needs, before any test runs: start
 * a container with a published port on loopback and reach the server inside it. A broken
 * engine (no netavark, no iptables, no runtime) fails here with one line instead of in
 * every test that starts a container.
 */
export async function proveContainerEngine(engine: ContainerEngine, natsImage: string): Promise<void> {
  const env = { ...process.env, DOCKER_HOST: engine.dockerHost };
  const fail = (why: string): Error =>
    new Error(`the container engine (${engine.cli} at ${engine.dockerHost}) cannot run a container with a published port: ${why}`);
  const started = await capture(engine.cli, ['run', '-d', '--rm', '-p', '127.0.0.1::4222', natsImage], { env });
  if (started.code !== 0) throw fail(started.stderr.trim().split('\n').at(-1) ?? `exit ${started.code}`);
  const id = started.stdout.trim();
  try {
    const mapped = await capture(engine.cli, ['port', id, '4222/tcp'], { env });
    const port = Number(mapped.stdout.trim().split('\n')[0]?.split(':').at(-1));
    if (mapped.code !== 0 || !Number.isInteger(port) || port <= 0) throw fail(`no host port for 4222/tcp (${mapped.stderr.trim()})`);
    let last = '';
    for (let i = 0; i < 50; i++) {
      try {
        const line = await firstLine(port, 2000);
        if (line.startsWith('INFO ')) return;
        last = `unexpected greeting ${JSON.stringify(line.slice(0, 40))}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw fail(`NATS inside it did not answer on 127.0.0.1:${port} (${last})`);
  } finally {
    await capture(engine.cli, ['rm', '-f', id], { env });
  }
}
