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
import { withPhaseSpans } from './pm-phases.ts';

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

/** One package as dpkg records it. */
export interface DpkgState {
  name: string;
  arch: string;
  version: string;
  source: string;
  /** Held (the selection is `hold`). */
  held: boolean;
  /**
   * dpkg's status letter: i installed, n not installed, c config-files, H half-installed,
   * U unpacked, F half-configured, W triggers awaited, t triggers pending.
   */
  status: string;
  /** dpkg marked it as needing reinstallation (the `R` error flag). */
  reinstRequired: boolean;
}

/** dpkg-query's `Status-Abbrev, Status-Want, Package, Architecture, Version, source:Package` lines. */
export function parseDpkgStates(text: string): DpkgState[] {
  return text
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length === 6)
    .map(([abbrev, want, name, arch, version, source]) => ({
      name: name as string,
      arch: arch as string,
      version: version as string,
      source: (source as string) || (name as string),
      held: want === 'hold',
      status: (abbrev as string)[1] ?? '',
      reinstRequired: (abbrev as string)[2] === 'R',
    }));
}

/** Packages dpkg has not finished with: what `dpkg --audit` reports (unpacked, half done, triggers). */
export function unsettled(states: readonly DpkgState[]): DpkgState[] {
  return states.filter((s) => s.reinstRequired || !['i', 'n', 'c'].includes(s.status));
}

/** The installed ones of dpkg's packages (held ones too), by name:arch. */
export function installedOf(states: readonly DpkgState[]): InstalledPackage[] {
  return states
    .filter((s) => s.status === 'i')
    .map(({ name, arch, version, held, source }) => ({ name, arch, version, held, source }))
    .sort((a, b) => packageKey(a).localeCompare(packageKey(b)));
}

/** A dpkg path filter (`path-exclude`/`path-include` in dpkg.cfg and dpkg.cfg.d/). */
export interface PathFilter {
  include: boolean;
  /** dpkg's fnmatch() glob without flags: `*` and `?` match `/` too. */
  pattern: RegExp;
}

/** fnmatch(3) with no flags, as dpkg matches its path filters: `*` and `?` cross `/`. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) re += (glob[++i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** The path filters of dpkg configuration files' text, in order. */
export function parsePathFilters(texts: readonly string[]): PathFilter[] {
  const out: PathFilter[] = [];
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = /^\s*path-(exclude|include)(?:\s*=\s*|\s+)(\S+)\s*$/.exec(line);
      if (m) out.push({ include: m[1] === 'include', pattern: globToRegExp(m[2] as string) });
    }
  }
  return out;
}

/** dpkg leaves the path out when the last filter matching it is an exclude. */
export function filteredOut(filters: readonly PathFilter[], absPath: string): boolean {
  let out = false;
  for (const f of filters) if (f.pattern.test(absPath)) out = !f.include;
  return out;
}

export interface Diversion {
  to: string;
  /** The package that diverts it (`:` for a local diversion). */
  by: string;
}

/** /var/lib/dpkg/diversions: triples of lines (from, to, diverting package). */
export function parseDiversions(text: string): Map<string, Diversion> {
  const lines = text.split('\n');
  const out = new Map<string, Diversion>();
  for (let i = 0; i + 2 < lines.length && lines[i]; i += 3) out.set(lines[i] as string, { to: lines[i + 1] ?? '', by: lines[i + 2] ?? '' });
  return out;
}

/**
 * Where a package's file is expected on disk: its own path, or where a diversion by
 * another package (or a local one) sends it; null when dpkg filters it out or it is under
 * /etc (conffiles: the configuration restore owns /etc).
 */
export function expectedPath(
  file: string,
  owner: string,
  diversions: ReadonlyMap<string, Diversion>,
  filters: readonly PathFilter[],
): string | null {
  const abs = file.startsWith('/') ? file : `/${file}`;
  if (abs.startsWith('/etc/') || filteredOut(filters, abs)) return null;
  const d = diversions.get(abs);
  return d && d.by !== owner ? d.to : abs;
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

  /** Every package dpkg knows in the root, whatever its state. */
  async states(): Promise<DpkgState[]> {
    const r = await runCommand([
      'dpkg-query',
      `--admindir=${this.root.at('var/lib/dpkg')}`,
      '-W',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the format syntax of dpkg-query, not a template
      '-f=${db:Status-Abbrev}\t${db:Status-Want}\t${Package}\t${Architecture}\t${Version}\t${source:Package}\n',
    ]);
    if (r.code !== 0) throw new CommandError(['dpkg-query'], r);
    return parseDpkgStates(r.stdout);
  }

  /** The installed packages (held ones too), with the source package each was built from. */
  async installed(): Promise<InstalledPackage[]> {
    return installedOf(await this.states());
  }

  /** apt with the root's package state and a throwaway lists/cache directory (`lists`: where its lists go). */
  async withScratch<T>(repos: AptRepository[], fn: (aptArgs: string[], lists: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(path.join(tmpdir(), 'yx-apt-'));
    try {
      await writeFile(path.join(dir, 'sources.list'), sourcesList(repos, this.trusted));
      await mkdir(path.join(dir, 'parts'));
      await mkdir(path.join(dir, 'lists', 'partial'), { recursive: true });
      await mkdir(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
      return await fn(
        [
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
        ],
        path.join(dir, 'lists'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Points the root at `repos`: sources.list rewritten, other source files set aside. */
  async switchSources(repos: AptRepository[]): Promise<void> {
    await this.root.writeInside('etc/apt/sources.list', sourcesList(repos, this.trusted));
    let parts: string[] = [];
    try {
      parts = await readdir(this.root.at('etc/apt/sources.list.d'));
    } catch {
      return;
    }
    for (const f of parts.filter((p) => /\.(list|sources)$/.test(p))) {
      const part = `etc/apt/sources.list.d/${f}`;
      await rename(
        await this.root.safePath(part, { follow: false }),
        await this.root.safePath(`${part}.yixing-disabled`, { follow: false }),
      );
    }
  }

  /** apt-get changing the root; its download, dpkg's transaction and the maintainer scripts become spans (pm-phases.ts). */
  async aptGet(ctx: StepContext, args: string[]): Promise<void> {
    await this.#changing(ctx, 'apt', ['apt-get', ...APT_CHANGE, ...args]);
  }

  /** dpkg in the root, keeping local configuration files. */
  async dpkg(ctx: StepContext, args: string[]): Promise<void> {
    await this.#changing(ctx, 'dpkg', ['dpkg', '--force-confdef', '--force-confold', ...args]);
  }

  /** Runs a changing command in the root, its output logged and read for its phases; CommandError on a non-zero exit. */
  async #changing(ctx: StepContext, tool: 'apt' | 'dpkg', argv: string[]): Promise<void> {
    ctx.log(`$ ${argv.join(' ')}`, 'agent');
    await withPhaseSpans(
      tool,
      argv,
      (l, s) => ctx.log(l, s),
      async (onLine) => {
        const r = await this.root.exec(argv, { env: NONINTERACTIVE, signal: ctx.signal, onLine, keep: 200_000 });
        if (r.code !== 0) throw new CommandError(argv, r);
      },
    );
  }

  /** Exactly `names` held (apt-mark hold), every other package not. */
  async setHolds(names: string[]): Promise<void> {
    const now = (await this.installed()).filter((p) => p.held).map((p) => p.name);
    const unhold = now.filter((n) => !names.includes(n));
    const hold = names.filter((n) => !now.includes(n));
    if (unhold.length > 0) await this.root.mustExec(['apt-mark', 'unhold', '--', ...unhold], { env: NONINTERACTIVE });
    if (hold.length > 0) await this.root.mustExec(['apt-mark', 'hold', '--', ...hold], { env: NONINTERACTIVE });
  }

  /**
   * Installed packages with files missing from disk, by the package's own md5sums list
   * (the .deb's record of its files, which dpkg keeps as shipped): a downgrade whose file
   * an installed newer package claimed by Replaces (bookworm's nginx over bullseye's
   * nginx-core) leaves the file to that package, which then takes it away when removed,
   * and the file is gone from the older package's list too, so `dpkg --verify` does not
   * see it. Files dpkg filters out (path-exclude) or diverts are where dpkg puts them.
   */
  async missingFiles(packages: readonly InstalledPackage[]): Promise<Map<string, string[]>> {
    const cfg: string[] = [await readFile(this.root.at('etc/dpkg/dpkg.cfg'), 'utf8').catch(() => '')];
    for (const f of (await readdir(this.root.at('etc/dpkg/dpkg.cfg.d')).catch(() => [] as string[])).sort()) {
      cfg.push(await readFile(this.root.at(`etc/dpkg/dpkg.cfg.d/${f}`), 'utf8').catch(() => ''));
    }
    const filters = parsePathFilters(cfg);
    const diversions = parseDiversions(await readFile(this.root.at('var/lib/dpkg/diversions'), 'utf8').catch(() => ''));
    const owners = new Map<string, string[]>();
    for (const p of packages) {
      const info = this.root.at('var/lib/dpkg/info');
      const text = await readFile(path.join(info, `${p.name}:${p.arch}.md5sums`), 'utf8').catch(() =>
        readFile(path.join(info, `${p.name}.md5sums`), 'utf8').catch(() => ''),
      );
      for (const line of text.split('\n')) {
        const file = line.replace(/^[0-9a-f]{32} {2}/, '');
        if (!file || file === line) continue;
        const at = expectedPath(file, p.name, diversions, filters);
        if (at) owners.set(at, [...(owners.get(at) ?? []), packageKey(p)]);
      }
    }
    // Checked inside the root, so its own symlinks (/bin -> usr/bin) resolve as they do there.
    const r = await this.root.exec(['/bin/sh', '-c', 'while IFS= read -r p; do [ -e "$p" ] || [ -L "$p" ] || printf "%s\\n" "$p"; done'], {
      input: `${[...owners.keys()].join('\n')}\n`,
    });
    if (r.code !== 0) throw new CommandError(['/bin/sh', '-c', '(file check)'], r);
    const missing = new Map<string, string[]>();
    for (const file of r.stdout.split('\n').filter(Boolean)) {
      for (const key of owners.get(file) ?? []) missing.set(key, [...(missing.get(key) ?? []), file]);
    }
    return missing;
  }

  /** A chroot has no init: keep package scripts from starting services in it. */
  async withPolicyRc<T>(fn: () => Promise<T>): Promise<T> {
    if (this.root.isHost) return fn();
    const file = 'usr/sbin/policy-rc.d';
    await this.root.writeInside(file, '#!/bin/sh\n# Yixing: no service starts inside a migration chroot\nexit 101\n', { mode: 0o755 });
    try {
      return await fn();
    } finally {
      // Resolved again: the package scripts that ran since may have changed the links on its way.
      await rm(await this.root.safePath(file, { follow: false }), { force: true });
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
