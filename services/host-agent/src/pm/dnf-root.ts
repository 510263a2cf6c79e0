import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError, runCommand } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { DnfRepository, Profile } from '../profiles/profile.ts';
import { ROOT_DNF_CACHE } from './dnf-cache.ts';
import { sourceRpmName } from './dnf-outputs.ts';
import { type ConfiguredRepo, checkedPackage, type InstalledPackage, packageKey } from './package-manager.ts';
import { withPhaseSpans } from './pm-phases.ts';

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

/** `name-[epoch:]version.arch`, of a package checked to be one (it goes into commands and dnf scripts). */
export const nevra = (p: InstalledPackage): string => {
  checkedPackage(p);
  const [epoch, rest] = p.version.includes(':') ? (p.version.split(':') as [string, string]) : ['0', p.version];
  return epoch === '0' ? `${p.name}-${rest}.${p.arch}` : `${p.name}-${epoch}:${rest}.${p.arch}`;
};

/** dnf and rpm on one root, with the profile's repositories. */
export class DnfRoot {
  readonly root: HostRoot;
  readonly profile: Profile;
  /** The repositories are unsigned mirrors (gpgcheck off). */
  readonly trusted: boolean;

  constructor(root: HostRoot, profile: Profile, trusted: boolean) {
    this.root = root;
    this.profile = profile;
    this.trusted = trusted;
  }

  get dnf(): NonNullable<Profile['dnf']> {
    return this.profile.dnf as NonNullable<Profile['dnf']>;
  }

  /**
   * dnf's options for this root. libdnf keeps each repository's metadata in `cachedir` as
   * given (dnf 4.14 puts only its own files, expired_repos.json, under the installroot),
   * so the root's cache is named by its path on this machine.
   */
  base(reposdir: string, releasever: string, cachedir = this.root.at(ROOT_DNF_CACHE)): string[] {
    return [
      'dnf',
      `--installroot=${this.root.path}`,
      `--setopt=reposdir=${reposdir}`,
      `--setopt=cachedir=${cachedir}`,
      '--setopt=install_weak_deps=False',
      '--setopt=keepcache=False',
      `--releasever=${releasever}`,
      '--noplugins',
    ];
  }

  /** A dnf command that changes the root; its download, transaction and scriptlets become spans (pm-phases.ts). */
  async dnfRun(ctx: StepContext, argv: string[]): Promise<void> {
    ctx.log(`$ ${argv.join(' ')}`, 'agent');
    await withPhaseSpans(
      'dnf',
      argv,
      (l, s) => ctx.log(l, s),
      async (onLine) => {
        const r = await runCommand(argv, { signal: ctx.signal, onLine, keep: 200_000 });
        if (r.code !== 0) throw new CommandError(argv, r);
      },
    );
  }

  async installed(): Promise<InstalledPackage[]> {
    const r = await runCommand([
      'rpm',
      '--root',
      this.root.path,
      '-qa',
      '--qf',
      '%{NAME}\t%{ARCH}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{SOURCERPM}\n',
    ]);
    if (r.code !== 0) throw new CommandError(['rpm', '-qa'], r);
    const locked = await this.lockedNames();
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .filter((f) => (f[0] as string) !== 'gpg-pubkey')
      .map(([name, arch, version, srpm]) => {
        const source = sourceRpmName(srpm ?? '');
        return {
          name: name as string,
          arch: arch as string,
          version: version as string,
          held: locked(name as string),
          ...(source ? { source } : {}),
        };
      })
      .sort((a, b) => packageKey(a).localeCompare(packageKey(b)));
  }

  /** versionlock entries and `exclude=` globs of dnf.conf / yum.conf. */
  async lockedNames(): Promise<(name: string) => boolean> {
    const patterns: string[] = [];
    const vl = await readFile(this.root.at('etc/dnf/plugins/versionlock.list'), 'utf8').catch(() => '');
    for (const line of vl.split('\n').map((l) => l.trim())) {
      if (!line || line.startsWith('#') || line.startsWith('!')) continue;
      patterns.push(line.replace(/-(\d+:)?[^-]+-[^-]+$/, ''));
    }
    for (const conf of ['etc/dnf/dnf.conf', 'etc/yum.conf']) {
      const text = await readFile(this.root.at(conf), 'utf8').catch(() => '');
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

  /** Only Yixing's repository file stays enabled; the others are set aside. */
  async switchRepos(repos: DnfRepository[], name: string): Promise<string> {
    const dir = 'etc/yum.repos.d';
    await mkdir(await this.root.safePath(dir), { recursive: true });
    // Renamed and removed as they are (a link, not what it points to).
    const entry = (f: string): Promise<string> => this.root.safePath(`${dir}/${f}`, { follow: false });
    for (const f of await readdir(await this.root.safePath(dir))) {
      if (f.endsWith('.repo') && !f.startsWith('yixing-')) await rename(await entry(f), await entry(`${f}.yixing-disabled`));
      if (f.startsWith('yixing-') && f.endsWith('.repo')) await rm(await entry(f));
    }
    await this.root.writeInside(`${dir}/yixing-${name}.repo`, repoFile(repos, this.trusted));
    return this.root.at(dir);
  }
}
