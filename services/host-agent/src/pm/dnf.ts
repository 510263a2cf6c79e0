// dnf and rpm on a root (`--installroot`, `rpm --root`), so the same code migrates `/`
// and a directory. The upgrade swaps the release package, distro-syncs with erasing
// allowed, records the transaction, regenerates grub and the initramfs where the root
// has them and schedules an SELinux relabel. The restore goes back to exactly the
// recorded package set from the source repositories.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError, runCommand } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { DnfRepository, Profile } from '../profiles/profile.ts';
import {
  type ConfiguredRepo,
  diffPackages,
  type InstalledPackage,
  type LockState,
  type PackageManager,
  packageKey,
  type UpgradePreview,
} from './package-manager.ts';

export function repoFile(repos: DnfRepository[], trusted: boolean): string {
  return `${repos
    .map((r) =>
      [
        `[${r.id}]`,
        `name=${r.name}`,
        `baseurl=${r.baseurl}`,
        'enabled=1',
        `gpgcheck=${r.gpgcheck && !trusted ? 1 : 0}`,
        ...(r.gpgkey && r.gpgcheck && !trusted ? [`gpgkey=${r.gpgkey}`] : []),
      ].join('\n'),
    )
    .join('\n\n')}\n`;
}

/** Enabled and disabled repositories of the root's *.repo files. */
export async function readDnfRepos(root: HostRoot): Promise<ConfiguredRepo[]> {
  const dir = root.at('etc/yum.repos.d');
  let files: string[] = [];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.repo')).sort();
  } catch {
    return [];
  }
  const out: ConfiguredRepo[] = [];
  for (const f of files) {
    const text = await readFile(path.join(dir, f), 'utf8');
    for (const section of text.split(/^\s*\[/m).slice(1)) {
      const uri = /^\s*(?:baseurl|mirrorlist|metalink)\s*=\s*(\S+)/m.exec(section)?.[1];
      if (!uri) continue;
      const enabled = !/^\s*enabled\s*=\s*0/m.test(section);
      out.push({ uri, file: `etc/yum.repos.d/${f}`, enabled });
    }
  }
  return out;
}

const nevra = (p: InstalledPackage): string => {
  const [epoch, rest] = p.version.includes(':') ? (p.version.split(':') as [string, string]) : ['0', p.version];
  return epoch === '0' ? `${p.name}-${rest}.${p.arch}` : `${p.name}-${epoch}:${rest}.${p.arch}`;
};

export class DnfPackageManager implements PackageManager {
  readonly name = 'dnf' as const;
  readonly cacheDir = '/var/cache/dnf';
  readonly #root: HostRoot;
  readonly #profile: Profile;
  readonly #trusted: boolean;

  constructor(root: HostRoot, profile: Profile, opts: { trusted: boolean }) {
    this.#root = root;
    this.#profile = profile;
    this.#trusted = opts.trusted;
  }

  get #dnf(): NonNullable<Profile['dnf']> {
    return this.#profile.dnf as NonNullable<Profile['dnf']>;
  }

  #base(reposdir: string, releasever: string, cachedir = this.#root.at('var/cache/dnf')): string[] {
    return [
      'dnf',
      `--installroot=${this.#root.path}`,
      `--setopt=reposdir=${reposdir}`,
      `--setopt=cachedir=${cachedir}`,
      '--setopt=install_weak_deps=False',
      '--setopt=keepcache=False',
      `--releasever=${releasever}`,
      '--noplugins',
    ];
  }

  async #dnfRun(ctx: StepContext, argv: string[]): Promise<void> {
    ctx.log(`$ ${argv.join(' ')}`, 'agent');
    const r = await runCommand(argv, { signal: ctx.signal, onLine: (l, s) => ctx.log(l, s), keep: 200_000 });
    if (r.code !== 0) throw new CommandError(argv, r);
  }

  async installed(): Promise<InstalledPackage[]> {
    const r = await runCommand(['rpm', '--root', this.#root.path, '-qa', '--qf', '%{NAME}\t%{ARCH}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n']);
    if (r.code !== 0) throw new CommandError(['rpm', '-qa'], r);
    const locked = await this.#lockedNames();
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .filter((f) => (f[0] as string) !== 'gpg-pubkey')
      .map(([name, arch, version]) => ({
        name: name as string,
        arch: arch as string,
        version: version as string,
        held: locked(name as string),
      }))
      .sort((a, b) => packageKey(a).localeCompare(packageKey(b)));
  }

  /** versionlock entries and `exclude=` globs of dnf.conf / yum.conf. */
  async #lockedNames(): Promise<(name: string) => boolean> {
    const patterns: string[] = [];
    const vl = await readFile(this.#root.at('etc/dnf/plugins/versionlock.list'), 'utf8').catch(() => '');
    for (const line of vl.split('\n').map((l) => l.trim())) {
      if (!line || line.startsWith('#') || line.startsWith('!')) continue;
      patterns.push(line.replace(/-(\d+:)?[^-]+-[^-]+$/, ''));
    }
    for (const conf of ['etc/dnf/dnf.conf', 'etc/yum.conf']) {
      const text = await readFile(this.#root.at(conf), 'utf8').catch(() => '');
      for (const m of text.matchAll(/^\s*exclude\s*=\s*(.+)$/gm)) patterns.push(...(m[1] as string).split(/[\s,]+/).filter(Boolean));
    }
    const res = patterns.map(
      (p) =>
        new RegExp(
          `^${p
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
        ),
    );
    return (name) => res.some((re) => re.test(name));
  }

  repositories(): Promise<ConfiguredRepo[]> {
    return readDnfRepos(this.#root);
  }

  async lockState(): Promise<LockState> {
    const details: string[] = [];
    for (const f of [
      'var/run/yum.pid',
      'run/yum.pid',
      'var/run/dnf.pid',
      'run/dnf.pid',
      'var/cache/dnf/metadata_lock.pid',
      'var/lib/dnf/rpmdb_lock.pid',
      'run/dnf/rpmdb_lock.pid',
    ]) {
      const pid = Number((await readFile(this.#root.at(f), 'utf8').catch(() => '')).trim());
      if (pid > 0 && existsSync(`/proc/${pid}`)) details.push(`${f} names running process ${pid}`);
    }
    const yumTx = await readdir(this.#root.at('var/lib/yum')).catch(() => [] as string[]);
    const unfinished = yumTx.filter((f) => f.startsWith('transaction-all.'));
    if (unfinished.length > 0) details.push(`unfinished yum transaction ${unfinished[0]}`);
    return { locked: details.some((d) => d.includes('process')), interrupted: unfinished.length > 0, detail: details.join('; ') };
  }

  async preview(ctx: StepContext): Promise<UpgradePreview> {
    // dnf puts its cache, logs and state under the installroot whatever path it is given,
    // so the preview works in a scratch directory inside the root and removes it (and any
    // directory it had to create) afterwards: the root is left as it was.
    const created: string[] = [];
    for (const d of ['var', 'var/tmp']) {
      if (!this.#root.exists(d)) {
        await mkdir(this.#root.at(d));
        created.unshift(this.#root.at(d));
      }
    }
    const scratch = `/var/tmp/yixing-preview-${process.pid}-${Date.now()}`;
    const reposdir = await mkdtemp(path.join(tmpdir(), 'yx-dnf-'));
    try {
      // libdnf prefixes the installroot to these paths but hawkey opens its log without
      // it: the log directory exists on both sides (the host one is removed too).
      await mkdir(this.#root.at(`${scratch}/log`), { recursive: true });
      if (!this.#root.isHost) await mkdir(`${scratch}/log`, { recursive: true });
      await writeFile(path.join(reposdir, 'target.repo'), repoFile(this.#dnf.repositories, this.#trusted));
      const base = [
        ...this.#base(reposdir, this.#profile.target.version, `${scratch}/cache`),
        `--setopt=logdir=${scratch}/log`,
        `--setopt=persistdir=${scratch}/lib`,
      ];
      const avail = await runCommand([...base, '-q', '--refresh', 'repoquery', '--available', '--qf', '%{name}'], { signal: ctx.signal });
      if (avail.code !== 0) {
        const err = (avail.stderr + avail.stdout).trim().split('\n').slice(-1)[0] ?? `dnf exited with ${avail.code}`;
        return { reachable: false, error: err, downloadBytes: 0, installBytes: 0, upgrades: 0, installs: 0, removals: [], notInTarget: [] };
      }
      const offered = new Set(avail.stdout.split('\n').filter(Boolean));
      const sim = await runCommand([...base, '--assumeno', '--allowerasing', 'distro-sync'], { signal: ctx.signal });
      const text = sim.stdout + sim.stderr;
      const unresolved = /^(Error|Problem)/m.test(text) && !/Operation aborted/.test(text);
      const installed = await this.installed();
      return {
        reachable: true,
        error: unresolved ? (text.split('\n').find((l) => /^(Error|Problem)/.test(l)) ?? 'unresolvable') : '',
        downloadBytes: sizeOf(/Total download size:\s*([\d.]+ [kMG]?)/.exec(text)?.[1]),
        installBytes: sizeOf(/Installed size:\s*([\d.]+ [kMG]?)/.exec(text)?.[1]),
        upgrades: Number(/Upgrade\s+(\d+) Package/.exec(text)?.[1] ?? 0) + Number(/Downgrade\s+(\d+) Package/.exec(text)?.[1] ?? 0),
        installs: Number(/Install\s+(\d+) Package/.exec(text)?.[1] ?? 0),
        removals: [...text.matchAll(/^Removing:\n((?: .+\n)+)/gm)]
          .flatMap((m) => (m[1] as string).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? ''))
          .filter(Boolean),
        notInTarget: installed.filter((p) => !offered.has(p.name)).map((p) => p.name),
      };
    } finally {
      await rm(this.#root.at(scratch), { recursive: true, force: true });
      if (!this.#root.isHost) await rm(scratch, { recursive: true, force: true });
      for (const d of created) await rm(d, { recursive: true, force: true });
      await rm(reposdir, { recursive: true, force: true });
    }
  }

  /** Only Yixing's repository file stays enabled; the others are set aside. */
  async #switchRepos(repos: DnfRepository[], name: string): Promise<string> {
    const dir = this.#root.at('etc/yum.repos.d');
    await mkdir(dir, { recursive: true });
    for (const f of await readdir(dir)) {
      if (f.endsWith('.repo') && !f.startsWith('yixing-')) await rename(path.join(dir, f), path.join(dir, `${f}.yixing-disabled`));
      if (f.startsWith('yixing-') && f.endsWith('.repo')) await rm(path.join(dir, f));
    }
    await writeFile(path.join(dir, `yixing-${name}.repo`), repoFile(repos, this.#trusted));
    return dir;
  }

  async upgrade(ctx: StepContext, resume: boolean): Promise<{ transaction: string }> {
    const reposdir = await this.#switchRepos(this.#dnf.repositories, 'target');
    const base = this.#base(reposdir, this.#profile.target.version);
    ctx.progress(10, 'repositories switched to the target release');
    if (resume) ctx.log('resuming: the swap and distro-sync run again from where the package set is now', 'agent');
    // Release swap: the old release packages out (they conflict on /etc/os-release), the new in.
    const names = new Set((await this.installed()).map((p) => p.name));
    const remove = this.#dnf.releaseSwap.remove.filter((n) => names.has(n));
    if (remove.length > 0) {
      const argv = ['rpm', '--root', this.#root.path, '-e', '--nodeps', ...remove];
      ctx.log(`$ ${argv.join(' ')}`, 'agent');
      const r = await runCommand(argv, { signal: ctx.signal });
      if (r.code !== 0) throw new CommandError(argv, r);
    }
    const install = this.#dnf.releaseSwap.install.filter((n) => !names.has(n));
    if (install.length > 0) await this.#dnfRun(ctx, [...base, '-y', 'install', ...install]);
    ctx.progress(30, 'release package swapped');
    await this.#dnfRun(ctx, [...base, '-y', ...(this.#dnf.allowErasing ? ['--allowerasing'] : []), 'distro-sync']);
    ctx.progress(85, 'distro-sync done');
    await this.#afterUpgrade(ctx);
    const history = await runCommand([...base, 'history', 'info', 'last']);
    return { transaction: history.stdout.slice(0, 8000) };
  }

  async #afterUpgrade(ctx: StepContext): Promise<void> {
    const after = this.#dnf.afterUpgrade;
    if (after.grub && this.#root.exists('usr/sbin/grub2-mkconfig') && this.#root.exists('boot/grub2')) {
      await this.#root.withMounts(() =>
        this.#root.mustExec(['grub2-mkconfig', '-o', '/boot/grub2/grub.cfg'], { onLine: (l, s) => ctx.log(l, s) }),
      );
    } else if (after.grub) ctx.log('no grub2 in this root: boot loader configuration left alone', 'agent');
    if (after.initramfs && this.#root.exists('usr/bin/dracut')) {
      await this.#root.withMounts(() => this.#root.mustExec(['dracut', '-f', '--regenerate-all'], { onLine: (l, s) => ctx.log(l, s) }));
    } else if (after.initramfs) ctx.log('no dracut in this root: initramfs left alone', 'agent');
    const selinux = await readFile(this.#root.at('etc/selinux/config'), 'utf8').catch(() => '');
    if (after.selinuxRelabel && selinux && !/^\s*SELINUX\s*=\s*disabled/m.test(selinux)) {
      await writeFile(this.#root.at('.autorelabel'), '');
      ctx.log('SELinux relabel scheduled for the first boot (/.autorelabel)', 'agent');
    }
  }

  async restore(manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
    const source = this.#profile.source.versions[0] as string;
    const reposdir = await this.#switchRepos(this.#dnf.sourceRepositories, 'source');
    const base = this.#base(reposdir, source);
    const want = new Map(manifest.map((p) => [packageKey(p), p]));
    // Whatever the migration brought that was not there before goes first, dependencies
    // notwithstanding: the recorded set is put back whole right after.
    const extra = (await this.installed()).filter((p) => !want.has(packageKey(p)));
    if (extra.length > 0) {
      const argv = ['rpm', '--root', this.#root.path, '-e', '--nodeps', ...extra.map((p) => `${p.name}.${p.arch}`)];
      ctx.log(`$ ${argv.join(' ')}`, 'agent');
      const r = await runCommand(argv, { signal: ctx.signal });
      if (r.code !== 0) throw new CommandError(argv, r);
    }
    for (let pass = 1; pass <= 2; pass++) {
      const now = await this.installed();
      const have = new Map(now.map((p) => [packageKey(p), p.version]));
      const missing = manifest.filter((p) => !have.has(packageKey(p)));
      const other = manifest.filter((p) => have.has(packageKey(p)) && have.get(packageKey(p)) !== p.version);
      if (missing.length + other.length === 0) break;
      ctx.log(`restore pass ${pass}: ${missing.length} missing, ${other.length} at another version`, 'agent');
      // `install` of an exact NEVRA installs that version whatever is installed now.
      await this.#dnfRun(ctx, [...base, '-y', '--allowerasing', 'install', ...[...missing, ...other].map(nevra)]);
    }
    const left = diffPackages(manifest, await this.installed());
    if (left.extra.length > 0) await this.#dnfRun(ctx, [...base, '-y', 'remove', '--noautoremove', ...left.extra]);
  }
}

/** "1.2 M" → bytes (dnf prints binary units). */
export function sizeOf(text: string | undefined): number {
  if (!text) return 0;
  const m = /([\d.]+)\s*([kMG]?)/.exec(text);
  if (!m) return 0;
  return Math.round(Number(m[1]) * ({ '': 1, k: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2] as string]!);
}
