// Builds or installs what the project needs and the machine lacks, idempotently, into the
// git-ignored .cache/. Each ensure* function is a no-op when its result already exists.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { capture, commandExists, run } from './exec.ts';
import { binDir, cacheDir, repoRoot } from './paths.ts';
import { FERRETDB_VERSION, NATS_SERVER_MODULE, NATS_SERVER_VERSION } from './versions.ts';

const log = (msg: string): void => {
  process.stderr.write(`setup: ${msg}\n`);
};

/** Debian packages the tests and servers need. */
export const SYSTEM_PACKAGES = ['podman', 'runc', 'netavark', 'aardvark-dns'];

export async function ensureSystemPackages(packages: string[] = SYSTEM_PACKAGES): Promise<void> {
  const missing: string[] = [];
  for (const pkg of packages) {
    // dpkg-query's own format placeholder, not a template literal.
    const r = await capture('dpkg-query', ['-W', `-f=\${Status}`, pkg]);
    if (!r.stdout.includes('install ok installed')) missing.push(pkg);
  }
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: ${missing.join(' ')}; install them as root (apt-get install ${missing.join(' ')})`);
  }
  log(`apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = ['install', '-y', '-q', '--no-install-recommends', ...missing];
  try {
    await run('apt-get', install, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    await run('apt-get', ['update', '-q'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    await run('apt-get', install, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

async function goBuildEnv(): Promise<NodeJS.ProcessEnv> {
  if (!(await commandExists('go'))) throw new Error('Go is required to build nats-server and FerretDB; `go` is not on PATH');
  // Static binaries: they run FROM scratch in images as well as on the host.
  return { ...process.env, CGO_ENABLED: '0' };
}

/** nats-server built from its Go module at the pinned release. */
export async function ensureNatsServer(): Promise<string> {
  const target = path.join(binDir, `nats-server-${NATS_SERVER_VERSION}`);
  if (existsSync(target)) return target;
  log(`go install ${NATS_SERVER_MODULE}@${NATS_SERVER_VERSION}`);
  const gobin = path.join(cacheDir, 'gobin');
  await mkdir(binDir, { recursive: true });
  await run('go', ['install', '-trimpath', `${NATS_SERVER_MODULE}@${NATS_SERVER_VERSION}`], {
    env: { ...(await goBuildEnv()), GOBIN: gobin },
  });
  await rename(path.join(gobin, 'nats-server'), target);
  return target;
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
  await ensureSystemPackages();
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
    await run('sh', ['-c', `nohup podman system service --time=0 unix://${PODMAN_SOCKET} >${cacheDir}/podman-service.log 2>&1 &`]);
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
