// apt and dpkg on a root. Reads use dpkg-query against the root's database; previews use
// apt with the root's state and temporary lists (so nothing in the root changes); the
// upgrade and the restore run inside the root, non-interactively, keeping local
// configuration files and never stopping at a prompt.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError, runCommand } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { AptRepository, Profile } from '../profiles/profile.ts';
import {
  type ConfiguredRepo,
  diffPackages,
  type InstalledPackage,
  type LockState,
  type PackageManager,
  packageKey,
  type UpgradePreview,
} from './package-manager.ts';

export const NONINTERACTIVE = {
  DEBIAN_FRONTEND: 'noninteractive',
  APT_LISTCHANGES_FRONTEND: 'none',
  NEEDRESTART_MODE: 'a',
  UCF_FORCE_CONFFOLD: '1',
  LC_ALL: 'C',
};

/** Options for every apt-get that changes the root: keep local config, never ask. */
export const APT_CHANGE = [
  '-y',
  '-q',
  '--no-install-recommends',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
  '-o',
  'Dpkg::Use-Pty=0',
  '-o',
  'APT::Get::allow-downgrades=true',
];

export function sourcesList(repos: AptRepository[], trusted: boolean): string {
  const opts = trusted ? ' [trusted=yes]' : '';
  const lines = repos.flatMap((r) => r.suites.map((s) => `deb${opts} ${r.uri} ${s} ${r.components.join(' ')}`));
  return `# Written by Yixing (易行); the previous sources are in the migration backup.\n${lines.join('\n')}\n`;
}

/** Every `deb` line of the root's one-line and deb822 source files. */
export async function readAptSources(root: HostRoot): Promise<ConfiguredRepo[]> {
  const out: ConfiguredRepo[] = [];
  const files = ['etc/apt/sources.list'];
  try {
    for (const f of (await readdir(root.at('etc/apt/sources.list.d'))).sort()) files.push(`etc/apt/sources.list.d/${f}`);
  } catch {
    // no sources.list.d
  }
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(root.at(file), 'utf8');
    } catch {
      continue;
    }
    if (file.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
        if (m) out.push({ uri: m[1] as string, file, enabled: true });
      }
    } else if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const types = /^Types:\s*(.+)$/im.exec(stanza)?.[1] ?? '';
        const enabled = !/^Enabled:\s*no/im.test(stanza);
        if (!types.split(/\s+/).includes('deb')) continue;
        for (const uri of (/^URIs:\s*(.+)$/im.exec(stanza)?.[1] ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, file, enabled });
      }
    }
  }
  return out;
}

export class AptPackageManager implements PackageManager {
  readonly name = 'apt' as const;
  readonly cacheDir = '/var/cache/apt/archives';
  readonly #root: HostRoot;
  readonly #profile: Profile;
  readonly #trusted: boolean;

  /** @param trusted the repositories are unsigned mirrors ([trusted=yes]) */
  constructor(root: HostRoot, profile: Profile, opts: { trusted: boolean }) {
    this.#root = root;
    this.#profile = profile;
    this.#trusted = opts.trusted;
  }

  get #apt(): NonNullable<Profile['apt']> {
    return this.#profile.apt as NonNullable<Profile['apt']>;
  }

  async installed(): Promise<InstalledPackage[]> {
    const r = await runCommand([
      'dpkg-query',
      `--admindir=${this.#root.at('var/lib/dpkg')}`,
      '-W',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the format syntax of dpkg-query, not a template
      '-f=${db:Status-Abbrev}\t${db:Status-Want}\t${Package}\t${Architecture}\t${Version}\n',
    ]);
    if (r.code !== 0) throw new CommandError(['dpkg-query'], r);
    return r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((f) => f.length === 5 && (f[0] as string)[1] === 'i') // installed, whatever is wanted (hold)
      .map(([, want, name, arch, version]) => ({
        name: name as string,
        arch: arch as string,
        version: version as string,
        held: want === 'hold',
      }))
      .sort((a, b) => packageKey(a).localeCompare(packageKey(b)));
  }

  repositories(): Promise<ConfiguredRepo[]> {
    return readAptSources(this.#root);
  }

  async lockState(): Promise<LockState> {
    // `apt-get check` takes the dpkg lock as an upgrade would; the caches are not written.
    const check = await this.#root.exec(['apt-get', 'check', '-q', '-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache='], {
      env: NONINTERACTIVE,
    });
    const locked = /Could not get lock|Unable to acquire the dpkg frontend lock|held by process/i.test(check.stderr + check.stdout);
    const audit = await runCommand(['dpkg', `--admindir=${this.#root.at('var/lib/dpkg')}`, '--audit']);
    const interrupted = audit.stdout.trim() !== '' || /dpkg was interrupted/i.test(check.stderr);
    const detail = [
      locked
        ? (check.stderr
            .trim()
            .split('\n')
            .find((l) => /lock/i.test(l)) ?? 'dpkg lock held')
        : '',
      interrupted ? audit.stdout.trim().split('\n')[0] : '',
    ]
      .filter(Boolean)
      .join('; ');
    return { locked, interrupted, detail };
  }

  /** apt with the root's package state and a throwaway lists/cache directory. */
  async #withScratch<T>(repos: AptRepository[], fn: (aptArgs: string[]) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(path.join(tmpdir(), 'yx-apt-'));
    try {
      await writeFile(path.join(dir, 'sources.list'), sourcesList(repos, this.#trusted));
      await mkdir(path.join(dir, 'parts'));
      await mkdir(path.join(dir, 'lists', 'partial'), { recursive: true });
      await mkdir(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
      return await fn([
        '-o',
        `Dir=${this.#root.path}`,
        '-o',
        `Dir::Etc::sourcelist=${path.join(dir, 'sources.list')}`,
        '-o',
        `Dir::Etc::sourceparts=${path.join(dir, 'parts')}`,
        '-o',
        `Dir::State::lists=${path.join(dir, 'lists')}`,
        '-o',
        `Dir::Cache=${path.join(dir, 'cache')}`,
        '-o',
        'Dir::Cache::pkgcache=',
        '-o',
        'Dir::Cache::srcpkgcache=',
        '-o',
        'Debug::NoLocking=1',
        '-o',
        'APT::Sandbox::User=root',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async preview(ctx: StepContext): Promise<UpgradePreview> {
    return this.#withScratch(this.#apt.repositories, async (args) => {
      const update = await runCommand(['apt-get', ...args, 'update', '-q'], { env: NONINTERACTIVE, signal: ctx.signal });
      if (update.code !== 0 || /^(E|Err):/m.test(update.stdout + update.stderr)) {
        const err =
          (update.stderr + update.stdout).split('\n').find((l) => /^(E|Err):/.test(l)) ?? `apt-get update exited with ${update.code}`;
        return { reachable: false, error: err, downloadBytes: 0, installBytes: 0, upgrades: 0, installs: 0, removals: [], notInTarget: [] };
      }
      // --assume-no prints the whole summary (sizes included) and stops before changing anything.
      const APT_PREVIEW = APT_CHANGE.filter((a) => a !== '-y');
      const sim = await runCommand(['apt-get', ...args, ...APT_PREVIEW, '--assume-no', 'full-upgrade'], {
        env: NONINTERACTIVE,
        signal: ctx.signal,
      });
      const text = sim.stdout + sim.stderr;
      const aborted = /^Abort\.?$/m.test(text) || /0 upgraded, 0 newly installed, 0 to remove/.test(text);
      const policy = await runCommand(['apt-cache', ...args, 'pkgnames'], { env: NONINTERACTIVE });
      const offered = new Set(policy.stdout.split('\n').filter(Boolean));
      const installed = await this.installed();
      return {
        reachable: true,
        error: sim.code === 0 || aborted ? '' : (text.split('\n').find((l) => /^E:/.test(l)) ?? `simulation exited with ${sim.code}`),
        downloadBytes: parseSize(/Need to get ([\d.,]+ [kMG]?B)/.exec(text)?.[1]),
        installBytes: parseSize(/After this operation, ([\d.,]+ [kMG]?B) of additional/.exec(text)?.[1]),
        upgrades: Number(/(\d+) upgraded/.exec(text)?.[1] ?? 0),
        installs: Number(/(\d+) newly installed/.exec(text)?.[1] ?? 0),
        removals: (/^The following packages will be REMOVED:\n((?:\s+.+\n)+)/m.exec(text)?.[1] ?? '')
          .split(/\s+/)
          .filter(Boolean)
          .map((p) => p.replace(/\*$/, '')),
        notInTarget: installed.filter((p) => !offered.has(p.name)).map((p) => p.name),
      };
    });
  }

  /** Points the root at `repos`: sources.list rewritten, other source files set aside. */
  async #switchSources(repos: AptRepository[]): Promise<void> {
    await writeFile(this.#root.at('etc/apt/sources.list'), sourcesList(repos, this.#trusted));
    let parts: string[] = [];
    try {
      parts = await readdir(this.#root.at('etc/apt/sources.list.d'));
    } catch {
      return;
    }
    for (const f of parts.filter((p) => /\.(list|sources)$/.test(p))) {
      await rename(this.#root.at(`etc/apt/sources.list.d/${f}`), this.#root.at(`etc/apt/sources.list.d/${f}.yixing-disabled`));
    }
  }

  async #aptGet(ctx: StepContext, args: string[]): Promise<void> {
    const argv = ['apt-get', ...APT_CHANGE, ...args];
    ctx.log(`$ ${argv.join(' ')}`, 'agent');
    const r = await this.#root.exec(argv, { env: NONINTERACTIVE, signal: ctx.signal, onLine: (l, s) => ctx.log(l, s), keep: 200_000 });
    if (r.code !== 0) throw new CommandError(argv, r);
  }

  /** A chroot has no init: keep package scripts from starting services in it. */
  async #withPolicyRc<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#root.isHost) return fn();
    const file = this.#root.at('usr/sbin/policy-rc.d');
    await writeFile(file, '#!/bin/sh\n# Yixing: no service starts inside a migration chroot\nexit 101\n', { mode: 0o755 });
    try {
      return await fn();
    } finally {
      await rm(file, { force: true });
    }
  }

  async upgrade(ctx: StepContext, resume: boolean): Promise<{ transaction: string }> {
    return this.#root.withMounts(() =>
      this.#withPolicyRc(async () => {
        if (resume) {
          ctx.log('resuming: finishing what dpkg left half done', 'agent');
          const configure = await this.#root.exec(['dpkg', '--configure', '-a', '--force-confdef', '--force-confold'], {
            env: NONINTERACTIVE,
            signal: ctx.signal,
            onLine: (l, s) => ctx.log(l, s),
          });
          if (configure.code !== 0) ctx.log(`dpkg --configure -a exited with ${configure.code}; apt will repair`, 'stderr');
        }
        await this.#switchSources(this.#apt.repositories);
        ctx.progress(10, 'sources switched to the target release');
        await this.#aptGet(ctx, ['update']);
        ctx.progress(20, 'package lists updated');
        if (resume) await this.#aptGet(ctx, ['-f', 'install']);
        // The Debian release notes' order: a minimal upgrade first, then the full one.
        await this.#aptGet(ctx, ['upgrade', '--without-new-pkgs']);
        ctx.progress(55, 'minimal upgrade done');
        await this.#aptGet(ctx, ['full-upgrade']);
        ctx.progress(95, 'full upgrade done');
        const history = await readFile(this.#root.at('var/log/apt/history.log'), 'utf8').catch(() => '');
        const last =
          history
            .trim()
            .split(/\n\s*\n/)
            .slice(-1)[0] ?? '';
        return { transaction: last.slice(0, 8000) };
      }),
    );
  }

  async restore(manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
    await this.#root.withMounts(() =>
      this.#withPolicyRc(async () => {
        await this.#root.exec(['dpkg', '--configure', '-a', '--force-confdef', '--force-confold'], {
          env: NONINTERACTIVE,
          signal: ctx.signal,
        });
        await this.#switchSources(this.#apt.sourceRepositories);
        await this.#aptGet(ctx, ['update']);
        // Everything back to its recorded version; whatever the upgrade added, purged.
        for (let pass = 1; pass <= 2; pass++) {
          const now = await this.installed();
          const diff = diffPackages(manifest, now);
          if (diff.missing.length + diff.extra.length + diff.changed.length === 0) break;
          ctx.log(
            `restore pass ${pass}: ${diff.missing.length} missing, ${diff.changed.length} at another version, ${diff.extra.length} extra`,
            'agent',
          );
          const current = new Map(now.map((n) => [packageKey(n), n.version]));
          const wanted = manifest.filter((p) => current.get(packageKey(p)) !== p.version).map((p) => `${p.name}:${p.arch}=${p.version}`);
          // `name-` removes within the same transaction (--purge: with its configuration);
          // the suffix goes on the bare name, apt would read `name:arch-` as arch "arch-".
          const purge = diff.extra.map((k) => `${k.slice(0, k.lastIndexOf(':'))}-`);
          await this.#aptGet(ctx, ['--purge', '--allow-remove-essential', '--allow-change-held-packages', 'install', ...wanted, ...purge]);
        }
        // Last resort for packages apt keeps because something still depends on them.
        const extra = diffPackages(manifest, await this.installed()).extra;
        if (extra.length > 0) {
          const argv = ['dpkg', '--purge', '--force-depends', ...extra];
          ctx.log(`$ ${argv.join(' ')}`, 'agent');
          await this.#root.mustExec(argv, { env: NONINTERACTIVE, signal: ctx.signal, onLine: (l, s) => ctx.log(l, s) });
        }
        // Holds as they were.
        const held = manifest.filter((p) => p.held).map((p) => p.name);
        if (held.length > 0) await this.#root.mustExec(['apt-mark', 'hold', ...held], { env: NONINTERACTIVE });
      }),
    );
  }
}

/** "12.3 MB" → bytes (apt prints decimal units). */
export function parseSize(text: string | undefined): number {
  if (!text) return 0;
  const m = /([\d.,]+)\s*([kMG]?)B/.exec(text);
  if (!m) return 0;
  const n = Number((m[1] as string).replace(/,/g, ''));
  return Math.round(n * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 } as Record<string, number>)[m[2] as string]!);
}
