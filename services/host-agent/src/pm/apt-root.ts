// apt and dpkg on one root: what the apt package manager, its preview and its restore
// share. Reads use dpkg-query against the root's database; previews use apt with the
// root's state and temporary lists (so nothing in the root changes); changes run inside
// the root, non-interactively, keeping local configuration files and never stopping at a
// prompt.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError, runCommand } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { AptRepository, Profile } from '../profiles/profile.ts';
import { type ConfiguredRepo, type InstalledPackage, packageKey } from './package-manager.ts';

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

/** apt and dpkg on one root, with the profile's repositories. */
export class AptRoot {
  readonly root: HostRoot;
  readonly profile: Profile;
  /** The repositories are unsigned mirrors ([trusted=yes]). */
  readonly trusted: boolean;

  constructor(root: HostRoot, profile: Profile, trusted: boolean) {
    this.root = root;
    this.profile = profile;
    this.trusted = trusted;
  }

  get apt(): NonNullable<Profile['apt']> {
    return this.profile.apt as NonNullable<Profile['apt']>;
  }

  async installed(): Promise<InstalledPackage[]> {
    const r = await runCommand([
      'dpkg-query',
      `--admindir=${this.root.at('var/lib/dpkg')}`,
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

  /** apt with the root's package state and a throwaway lists/cache directory. */
  async withScratch<T>(repos: AptRepository[], fn: (aptArgs: string[]) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(path.join(tmpdir(), 'yx-apt-'));
    try {
      await writeFile(path.join(dir, 'sources.list'), sourcesList(repos, this.trusted));
      await mkdir(path.join(dir, 'parts'));
      await mkdir(path.join(dir, 'lists', 'partial'), { recursive: true });
      await mkdir(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
      return await fn([
        '-o',
        `Dir=${this.root.path}`,
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

  /** Points the root at `repos`: sources.list rewritten, other source files set aside. */
  async switchSources(repos: AptRepository[]): Promise<void> {
    await writeFile(this.root.at('etc/apt/sources.list'), sourcesList(repos, this.trusted));
    let parts: string[] = [];
    try {
      parts = await readdir(this.root.at('etc/apt/sources.list.d'));
    } catch {
      return;
    }
    for (const f of parts.filter((p) => /\.(list|sources)$/.test(p))) {
      await rename(this.root.at(`etc/apt/sources.list.d/${f}`), this.root.at(`etc/apt/sources.list.d/${f}.yixing-disabled`));
    }
  }

  async aptGet(ctx: StepContext, args: string[]): Promise<void> {
    const argv = ['apt-get', ...APT_CHANGE, ...args];
    ctx.log(`$ ${argv.join(' ')}`, 'agent');
    const r = await this.root.exec(argv, { env: NONINTERACTIVE, signal: ctx.signal, onLine: (l, s) => ctx.log(l, s), keep: 200_000 });
    if (r.code !== 0) throw new CommandError(argv, r);
  }

  /** A chroot has no init: keep package scripts from starting services in it. */
  async withPolicyRc<T>(fn: () => Promise<T>): Promise<T> {
    if (this.root.isHost) return fn();
    const file = this.root.at('usr/sbin/policy-rc.d');
    await writeFile(file, '#!/bin/sh\n# Yixing: no service starts inside a migration chroot\nexit 101\n', { mode: 0o755 });
    try {
      return await fn();
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Finishes what an interrupted dpkg left unpacked; a failure is logged, apt repairs. */
  async configurePending(ctx: StepContext): Promise<void> {
    const configure = await this.root.exec(['dpkg', '--configure', '-a', '--force-confdef', '--force-confold'], {
      env: NONINTERACTIVE,
      signal: ctx.signal,
      onLine: (l, s) => ctx.log(l, s),
    });
    if (configure.code !== 0) ctx.log(`dpkg --configure -a exited with ${configure.code}; apt will repair`, 'stderr');
  }
}
