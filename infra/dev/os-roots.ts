// Real OS roots for the migration drivers' tests, built once and cached under .cache/:
// a Debian 11 root made with debootstrap (as a tarball), the same root with real services
// installed and configured by an operator (a second tarball), and a local apt mirror
// holding exactly the packages both roots need to be upgraded to Debian 12 and rolled
// back again. Building talks to Debian's archive; the tests then serve the mirror on
// loopback only.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chmod, link, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { capture, run } from './exec.ts';
import { cacheDir } from './paths.ts';
import { ensureHostPrograms } from './toolchain.ts';

const log = (msg: string): void => {
  process.stderr.write(`setup: ${msg}\n`);
};

export const DEBIAN_ARCHIVE = 'http://deb.debian.org/debian';
export const DEBIAN_SECURITY = 'http://deb.debian.org/debian-security';

export const debianRootTar = (): string => path.join(cacheDir, 'roots', 'debian-11-minbase.tar');
export const debianMirrorDir = (): string => path.join(cacheDir, 'mirrors', 'debian');

const chrootEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** Runs `fn` with /proc and /dev mounted in the root, unmounting whatever happens. */
export async function withChrootMounts<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const mounts: string[] = [];
  try {
    await run('mount', ['-t', 'proc', 'proc', path.join(root, 'proc')]);
    mounts.push(path.join(root, 'proc'));
    await run('mount', ['--bind', '/dev', path.join(root, 'dev')]);
    mounts.push(path.join(root, 'dev'));
    await run('mount', ['--bind', '/dev/pts', path.join(root, 'dev/pts')]);
    mounts.push(path.join(root, 'dev/pts'));
    return await fn();
  } finally {
    for (const m of mounts.reverse()) await capture('umount', ['-l', m]);
  }
}

/** The Debian 11 root, debootstrapped once (minbase) and kept as a tarball. */
export async function ensureDebianRoot(): Promise<string> {
  const tar = debianRootTar();
  if (existsSync(tar)) return tar;
  await ensureHostPrograms('os-roots');
  log('debootstrap --variant=minbase bullseye (about 30 s)');
  const work = await mkdtemp(path.join(cacheDir, 'debootstrap-'));
  try {
    await run('debootstrap', ['--variant=minbase', 'bullseye', work, DEBIAN_ARCHIVE], { stdio: ['ignore', 'ignore', 'inherit'] });
    await writeFile(path.join(work, 'etc/apt/sources.list'), `deb ${DEBIAN_ARCHIVE} bullseye main\n`);
    await mkdir(path.dirname(tar), { recursive: true });
    await run('tar', ['--numeric-owner', '-cpf', `${tar}.tmp`, '-C', work, '.']);
    await rename(`${tar}.tmp`, tar);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return tar;
}

async function chroot(root: string, args: string[]): Promise<void> {
  await run('chroot', [root, ...args], { env: chrootEnv, stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * The services root's recipe: what is installed on the minbase root and the operator's
 * edits made afterwards. Its digest names the cached tarball and keys the mirror, so a
 * change here rebuilds both.
 */
export const DEBIAN_SERVICES = {
  // A web server, a database server (postgresql-13, its cluster created by the package),
  // an MTA and cron: about 170 packages with the minbase.
  packages: ['nginx', 'postgresql', 'exim4-daemon-light', 'cron'],
  /** Files the operator changed after installing (path in the root → text appended or written). */
  edits: {
    'etc/nginx/sites-available/default': {
      write: [
        '# Edited by the operator: the shop front.',
        'server {',
        '\tlisten 80 default_server;',
        '\tlisten [::]:80 default_server;',
        '\tserver_name shop.example.test;',
        '\troot /srv/www/shop;',
        '\tindex index.html;',
        '\tclient_max_body_size 20m;',
        '\tlocation / { try_files $uri $uri/ =404; }',
        '\tlocation /api/ { proxy_pass http://127.0.0.1:8080/; }',
        '}',
        '',
      ].join('\n'),
    },
    'etc/postgresql/13/main/postgresql.conf': {
      append: "\n# Edited by the operator\nlisten_addresses = '*'\nshared_buffers = 256MB\nlog_min_duration_statement = 500\n",
    },
    'etc/postgresql/13/main/pg_hba.conf': { append: 'host\tshop\tshop\t10.0.0.0/8\tscram-sha-256\n' },
    'etc/cron.d/shop-backup': { write: '# Edited by the operator\n30 2 * * * postgres pg_dump shop > /var/backups/shop.sql\n' },
    'etc/crontab': { append: '15 4 * * 0 root /usr/bin/find /tmp -mtime +7 -delete\n' },
    'etc/aliases': { append: 'postgres: root\nroot: ops@example.test\n' },
    'etc/exim4/update-exim4.conf.conf': { append: "dc_other_hostnames='shop.example.test'\ndc_relay_nets='10.0.0.0/8'\n" },
  } as Record<string, { write?: string; append?: string }>,
};

const servicesKey = (): string => createHash('sha256').update(JSON.stringify(DEBIAN_SERVICES)).digest('hex').slice(0, 12);

export const debianServicesRootTar = (): string => path.join(cacheDir, 'roots', `debian-11-services-${servicesKey()}.tar`);

/** A chroot has no init: keeps package scripts from starting services (on the host's network). */
async function withoutServiceStarts<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(root, 'usr/sbin/policy-rc.d');
  await writeFile(file, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * The Debian 11 root with real services: the minbase root, the services installed from
 * Debian's archive in a chroot (none started), then the operator's edits. Kept as a tarball.
 */
export async function ensureDebianServicesRoot(): Promise<string> {
  const tar = debianServicesRootTar();
  if (existsSync(tar)) return tar;
  const base = await ensureDebianRoot();
  return withBuildLock('debian-services-root', () => (existsSync(tar) ? Promise.resolve(tar) : buildServicesRoot(base, tar)));
}

async function buildServicesRoot(base: string, tar: string): Promise<string> {
  log(`installing ${DEBIAN_SERVICES.packages.join(', ')} on the Debian 11 root (about a minute)`);
  const work = await mkdtemp(path.join(cacheDir, 'services-root-'));
  try {
    await run('tar', ['--numeric-owner', '-xpf', base, '-C', work]);
    // A root directory only root can enter keeps every service user (postgres, exim) out.
    await chmod(work, 0o755);
    await withChrootMounts(work, () =>
      withoutServiceStarts(work, async () => {
        await chroot(work, ['apt-get', 'update', '-q']);
        await chroot(work, ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...DEBIAN_SERVICES.packages]);
        for (const [file, edit] of Object.entries(DEBIAN_SERVICES.edits)) {
          const at = path.join(work, file);
          if (edit.write !== undefined) await writeFile(at, edit.write);
          if (edit.append !== undefined) await appendFile(at, edit.append);
        }
        await chroot(work, ['update-exim4.conf']);
        await chroot(work, ['newaliases']);
        await chroot(work, ['apt-get', 'clean']);
      }),
    );
    const pgConf = await readFile(path.join(work, 'etc/postgresql/13/main/postgresql.conf'), 'utf8');
    if (!pgConf.includes('Edited by the operator')) throw new Error('the PostgreSQL 13 cluster was not created');
    for (const old of (await readdir(path.dirname(tar))).filter((f) => f.startsWith('debian-11-services-'))) {
      await rm(path.join(path.dirname(tar), old), { force: true });
    }
    await run('tar', ['--numeric-owner', '-cpf', `${tar}.tmp`, '-C', work, '.']);
    await rename(`${tar}.tmp`, tar);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return tar;
}

/** Moves the downloaded packages of `root` into `to`, leaving its cache empty. */
async function moveDebs(root: string, to: string): Promise<number> {
  const archives = path.join(root, 'var/cache/apt/archives');
  await mkdir(to, { recursive: true });
  let n = 0;
  for (const f of await readdir(archives)) {
    if (!f.endsWith('.deb')) continue;
    await rm(path.join(to, f), { force: true });
    await rename(path.join(archives, f), path.join(to, f));
    n++;
  }
  return n;
}

/**
 * Puts the packages another root of this build already downloaded in the root's cache
 * (hard links), so apt downloads only the others. (Only this build's: an older mirror's
 * packages could be versions the archive no longer offers.)
 */
async function seedDebs(root: string, pool: string): Promise<void> {
  if (!existsSync(pool)) return;
  const archives = path.join(root, 'var/cache/apt/archives');
  for (const f of (await readdir(pool)).filter((n) => n.endsWith('.deb'))) {
    if (!existsSync(path.join(archives, f))) await link(path.join(pool, f), path.join(archives, f));
  }
}

const BOOKWORM_SOURCES = [
  `deb ${DEBIAN_ARCHIVE} bookworm main`,
  `deb ${DEBIAN_ARCHIVE} bookworm-updates main`,
  `deb ${DEBIAN_SECURITY} bookworm-security main`,
  '',
].join('\n');

/** Every package of the root (bullseye) and every package its upgrade installs (bookworm), into the pools. */
async function downloadForRoot(tar: string, mirror: string): Promise<void> {
  const work = await mkdtemp(path.join(cacheDir, 'mirror-build-'));
  try {
    await run('tar', ['--numeric-owner', '-xpf', tar, '-C', work]);
    await withChrootMounts(work, async () => {
      await chroot(work, ['apt-get', 'update', '-q']);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the format syntax of dpkg-query, not a template
      const { stdout } = await capture('chroot', [work, 'dpkg-query', '-W', '-f=${Package}\n'], { env: chrootEnv });
      await seedDebs(work, path.join(mirror, 'pool', 'bullseye'));
      await chroot(work, ['apt-get', 'install', '-y', '-q', '--reinstall', '--download-only', ...stdout.split('\n').filter(Boolean)]);
      await moveDebs(work, path.join(mirror, 'pool', 'bullseye'));
      await writeFile(path.join(work, 'etc/apt/sources.list'), BOOKWORM_SOURCES);
      await chroot(work, ['apt-get', 'update', '-q']);
      await seedDebs(work, path.join(mirror, 'pool', 'bookworm'));
      await chroot(work, ['apt-get', 'full-upgrade', '-y', '-q', '--no-install-recommends', '--download-only']);
      await moveDebs(work, path.join(mirror, 'pool', 'bookworm'));
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Runs `build` holding a lock directory, so that two `./dev test` runs (or a test run and
 * a bench) never build the same cache at once; a lock whose builder died is taken over.
 */
async function withBuildLock<T>(name: string, build: () => Promise<T>): Promise<T> {
  const lock = path.join(cacheDir, 'locks', name);
  await mkdir(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''));
      let alive = true;
      try {
        if (pid > 0) process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (!alive) await rm(lock, { recursive: true, force: true });
      else await sleep(2000);
    }
  }
  try {
    return await build();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * A local apt mirror: every package of the Debian 11 roots (minbase and services: to roll
 * back to) and every package their upgrades to Debian 12 install, indexed under the suites
 * the profile names (bullseye; bookworm, bookworm-updates; bookworm-security) so the
 * profile's repositories can point at it unchanged but for the address. READY holds the
 * key of the roots it was built for: another key (the services recipe changed) rebuilds it.
 */
export async function ensureDebianMirror(): Promise<string> {
  const dir = debianMirrorDir();
  const key = `minbase+services-${servicesKey()}`;
  const isReady = async (): Promise<boolean> => (await readFile(path.join(dir, 'READY'), 'utf8').catch(() => '')).trim() === key;
  if (await isReady()) return dir;
  // The services root first: it holds the minbase's packages, which are then at hand.
  const roots = [await ensureDebianServicesRoot(), await ensureDebianRoot()];
  return withBuildLock('debian-mirror', async () => {
    if (await isReady()) return dir;
    log('building the local Debian mirror (downloads the bullseye and bookworm packages once)');
    // Built aside and swapped in at the end: a test serving the old mirror keeps working.
    const building = `${dir}.building`;
    await rm(building, { recursive: true, force: true });
    for (const tar of roots) await downloadForRoot(tar, building);
    await indexMirror(building);
    await writeFile(path.join(building, 'READY'), `${key}\n`);
    const previous = `${dir}.previous`;
    await rm(previous, { recursive: true, force: true });
    if (existsSync(dir)) await rename(dir, previous);
    await rename(building, dir);
    await rm(previous, { recursive: true, force: true });
    return dir;
  });
}

/** Index: one tree per archive address, each suite listing its release's packages. */
async function indexMirror(dir: string): Promise<void> {
  // The pool is shared: linked under each archive tree so Filename paths resolve.
  for (const archive of ['debian', 'debian-security']) {
    await mkdir(path.join(dir, archive), { recursive: true });
    await run('ln', ['-sfn', '../pool', path.join(dir, archive, 'pool')]);
  }
  for (const [archive, suites] of [
    ['debian', ['bullseye', 'bookworm', 'bookworm-updates']],
    ['debian-security', ['bookworm-security']],
  ] as const) {
    for (const suite of suites) {
      const release = suite.startsWith('bullseye') ? 'bullseye' : 'bookworm';
      const binDir = path.join(dir, archive, 'dists', suite, 'main', 'binary-amd64');
      await mkdir(binDir, { recursive: true });
      const { stdout: packages } = await capture('apt-ftparchive', ['packages', `pool/${release}`], { cwd: path.join(dir, archive) });
      if (!packages.trim()) throw new Error(`no packages indexed in ${dir}/pool/${release}`);
      await writeFile(path.join(binDir, 'Packages'), packages);
      const { stdout: rel } = await capture(
        'apt-ftparchive',
        ['-o', `APT::FTPArchive::Release::Suite=${suite}`, '-o', `APT::FTPArchive::Release::Codename=${suite}`, 'release', '.'],
        { cwd: path.join(dir, archive, 'dists', suite) },
      );
      await writeFile(path.join(dir, archive, 'dists', suite, 'Release'), rel);
    }
  }
}
