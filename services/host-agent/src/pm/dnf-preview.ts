import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError, runCommand } from '../os/command.ts';
import type { DnfRepository } from '../profiles/profile.ts';
import { classifyUpgrade } from './classify-upgrade.ts';
import { ASSESSED_DNF_CACHE, type AssessedDnfCache, keepDnfCache } from './dnf-cache.ts';
import { parseDnfTransaction, REPOQUERY_FORMAT, RepoqueryReader, sourceRpmName } from './dnf-outputs.ts';
import { type DnfRoot, repoFile } from './dnf-root.ts';
import { type InstalledPackage, packageKey, type UpgradePreview } from './package-manager.ts';
import { compareRpmVersions } from './version-compare.ts';

/** The source repositories are read for names and versions only. */
const SOURCE_FORMAT = '@@%{name}\t%{arch}\t%{epoch}:%{version}-%{release}\t%{sourcerpm}';

/** Installed packages with their source package (SOURCERPM's name). */
async function withSources(d: DnfRoot, installed: InstalledPackage[]): Promise<InstalledPackage[]> {
  const r = await runCommand(['rpm', '--root', d.root.path, '-qa', '--qf', '%{NAME}\t%{ARCH}\t%{SOURCERPM}\n']);
  if (r.code !== 0) throw new CommandError(['rpm', '-qa'], r);
  const sources = new Map<string, string | undefined>(
    r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .map(([name, arch, srpm]) => [`${name}:${arch}`, sourceRpmName(srpm ?? '')] as const),
  );
  return installed.map((p) => ({ ...p, source: p.source ?? sources.get(packageKey(p)) ?? p.name }));
}

export async function dnfPreview(d: DnfRoot, ctx: StepContext): Promise<UpgradePreview> {
  // dnf puts its cache, logs and state under the installroot whatever path it is given,
  // so the preview works in a scratch directory inside the root and removes it (and any
  // directory it had to create) afterwards: the root is left as it was.
  const created: string[] = [];
  for (const dir of ['var', 'var/tmp']) {
    if (!d.root.exists(dir)) {
      const at = await d.root.safePath(dir);
      await mkdir(at);
      created.unshift(at);
    }
  }
  const scratch = `/var/tmp/yixing-preview-${process.pid}-${Date.now()}`;
  const reposdir = await mkdtemp(path.join(tmpdir(), 'yx-dnf-'));
  try {
    // libdnf prefixes the installroot to these paths but hawkey opens its log without
    // it: the log directory exists on both sides (the host one is removed too).
    await mkdir(await d.root.safePath(`${scratch}/log`), { recursive: true });
    if (!d.root.isHost) await mkdir(`${scratch}/log`, { recursive: true });
    const query = async (repos: DnfRepository[], name: string, releasever: string, qf: string) => {
      // Each side in a directory of its own: a profile may give both sides the same repository ids.
      const dir = path.join(reposdir, name);
      await mkdir(dir);
      await writeFile(path.join(dir, `${name}.repo`), repoFile(repos, d.trusted));
      const argv = [
        ...d.base(dir, releasever, `${scratch}/cache-${name}`),
        `--setopt=logdir=${scratch}/log`,
        `--setopt=persistdir=${scratch}/lib`,
      ];
      // A whole distribution's repoquery is far larger than a command result keeps: read as it streams.
      const reader = new RepoqueryReader();
      const errors: string[] = [];
      const r = await runCommand([...argv, '-q', '--refresh', 'repoquery', '--available', '--qf', qf], {
        signal: ctx.signal,
        keep: 0,
        onLine: (l, s) => (s === 'stdout' ? reader.line(l) : errors.push(l)),
      });
      return {
        argv,
        packages: reader.packages,
        error: r.code === 0 ? '' : (errors.filter(Boolean).slice(-1)[0] ?? `dnf exited with ${r.code}`),
      };
    };
    const source = await query(d.dnf.sourceRepositories, 'source', d.profile.source.versions[0] as string, SOURCE_FORMAT);
    const target = await query(d.dnf.repositories, 'target', d.profile.target.version, REPOQUERY_FORMAT);
    if (target.error) {
      return {
        reachable: false,
        error: target.error,
        sourceError: source.error,
        downloadBytes: 0,
        installBytes: 0,
        upgrades: 0,
        installs: 0,
        removals: [],
        changes: [],
      };
    }
    const sim = await runCommand([...target.argv, '--assumeno', ...(d.dnf.allowErasing ? ['--allowerasing'] : []), 'distro-sync'], {
      signal: ctx.signal,
    });
    // The target's metadata, kept for the upgrade (dnf-cache.ts) before the scratch goes.
    if (!ctx.dryRun) {
      const previous = ctx.runData.get<AssessedDnfCache>(ASSESSED_DNF_CACHE);
      const caches = [`${scratch}/cache-target`, await d.root.safePath(`${scratch}/cache-target`)];
      await ctx.runData.set(ASSESSED_DNF_CACHE, await keepDnfCache(caches, previous));
    }
    const text = sim.stdout + sim.stderr;
    const unresolved = /^(Error|Problem)/m.test(text) && !/Operation aborted/.test(text);
    const plan = parseDnfTransaction(sim.stdout);
    const changes = classifyUpgrade({
      installed: await withSources(d, await d.installed()),
      source: source.error ? null : source.packages,
      target: target.packages,
      plan,
      releaseSwap: d.dnf.releaseSwap,
      compare: compareRpmVersions,
    });
    return {
      reachable: true,
      error: unresolved ? (text.split('\n').find((l) => /^(Error|Problem)/.test(l)) ?? 'unresolvable') : '',
      sourceError: source.error,
      downloadBytes: sizeOf(/Total download size:\s*([\d.]+ [kMG]?)/.exec(text)?.[1]),
      installBytes: sizeOf(/Installed size:\s*([\d.]+ [kMG]?)/.exec(text)?.[1]),
      upgrades: Number(/Upgrade\s+(\d+) Package/.exec(text)?.[1] ?? 0) + Number(/Downgrade\s+(\d+) Package/.exec(text)?.[1] ?? 0),
      installs: Number(/Install\s+(\d+) Package/.exec(text)?.[1] ?? 0),
      removals: plan.removes.map((r) => r.name),
      changes,
    };
  } finally {
    await rm(await d.root.safePath(scratch, { follow: false }), { recursive: true, force: true });
    if (!d.root.isHost) await rm(scratch, { recursive: true, force: true });
    for (const d of created) await rm(d, { recursive: true, force: true });
    await rm(reposdir, { recursive: true, force: true });
  }
}

/** "1.2 M" → bytes (dnf prints binary units). */
export function sizeOf(text: string | undefined): number {
  if (!text) return 0;
  const m = /([\d.]+)\s*([kMG]?)/.exec(text);
  if (!m) return 0;
  return Math.round(Number(m[1]) * ({ '': 1, k: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2] as string]!);
}
