// Real OS roots for the migration drivers' tests, built once and cached under .cache/:
// a Debian 11 root made with debootstrap (as a tarball), and a local apt mirror holding
// exactly the packages that root needs to be upgraded to Debian 12 and rolled back again.
// Building talks to Debian's archive; the tests then serve the mirror on loopback only.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
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

async function moveDebs(root: string, to: string): Promise<number> {
  const archives = path.join(root, 'var/cache/apt/archives');
  await mkdir(to, { recursive: true });
  let n = 0;
  for (const f of await readdir(archives)) {
    if (!f.endsWith('.deb')) continue;
    await rename(path.join(archives, f), path.join(to, f));
    n++;
  }
  return n;
}

/**
 * A local apt mirror: every package of the Debian 11 root (to roll back to) and every
 * package its upgrade to Debian 12 installs, indexed under the suites the profile names
 * (bullseye; bookworm, bookworm-updates; bookworm-security) so the profile's repositories
 * can point at it unchanged but for the address.
 */
export async function ensureDebianMirror(): Promise<string> {
  const dir = debianMirrorDir();
  if (existsSync(path.join(dir, 'READY'))) return dir;
  const tar = await ensureDebianRoot();
  log('building the local Debian mirror (downloads the bullseye and bookworm packages once)');
  await rm(dir, { recursive: true, force: true });
  const work = await mkdtemp(path.join(cacheDir, 'mirror-build-'));
  try {
    await run('tar', ['--numeric-owner', '-xpf', tar, '-C', work]);
    await withChrootMounts(work, async () => {
      await chroot(work, ['apt-get', 'update', '-q']);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the format syntax of dpkg-query, not a template
      const { stdout } = await capture('chroot', [work, 'dpkg-query', '-W', '-f=${Package}\n'], { env: chrootEnv });
      await chroot(work, ['apt-get', 'install', '-y', '-q', '--reinstall', '--download-only', ...stdout.split('\n').filter(Boolean)]);
      await moveDebs(work, path.join(dir, 'pool', 'bullseye'));
      await writeFile(
        path.join(work, 'etc/apt/sources.list'),
        [
          `deb ${DEBIAN_ARCHIVE} bookworm main`,
          `deb ${DEBIAN_ARCHIVE} bookworm-updates main`,
          `deb ${DEBIAN_SECURITY} bookworm-security main`,
          '',
        ].join('\n'),
      );
      await chroot(work, ['apt-get', 'update', '-q']);
      await chroot(work, ['apt-get', 'full-upgrade', '-y', '-q', '--no-install-recommends', '--download-only']);
      await moveDebs(work, path.join(dir, 'pool', 'bookworm'));
    });
    // Index: one tree per archive address, each suite listing its release's packages.
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
          {
            cwd: path.join(dir, archive, 'dists', suite),
          },
        );
        await writeFile(path.join(dir, archive, 'dists', suite, 'Release'), rel);
      }
    }
    await writeFile(path.join(dir, 'READY'), new Date().toISOString());
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return dir;
}
