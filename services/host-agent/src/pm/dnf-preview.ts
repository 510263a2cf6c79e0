import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StepContext } from '../drivers/driver.ts';
import { runCommand } from '../os/command.ts';
import { type DnfRoot, repoFile } from './dnf-root.ts';
import type { UpgradePreview } from './package-manager.ts';

export async function dnfPreview(d: DnfRoot, ctx: StepContext): Promise<UpgradePreview> {
  // dnf puts its cache, logs and state under the installroot whatever path it is given,
  // so the preview works in a scratch directory inside the root and removes it (and any
  // directory it had to create) afterwards: the root is left as it was.
  const created: string[] = [];
  for (const dir of ['var', 'var/tmp']) {
    if (!d.root.exists(dir)) {
      await mkdir(d.root.at(dir));
      created.unshift(d.root.at(dir));
    }
  }
  const scratch = `/var/tmp/yixing-preview-${process.pid}-${Date.now()}`;
  const reposdir = await mkdtemp(path.join(tmpdir(), 'yx-dnf-'));
  try {
    // libdnf prefixes the installroot to these paths but hawkey opens its log without
    // it: the log directory exists on both sides (the host one is removed too).
    await mkdir(d.root.at(`${scratch}/log`), { recursive: true });
    if (!d.root.isHost) await mkdir(`${scratch}/log`, { recursive: true });
    await writeFile(path.join(reposdir, 'target.repo'), repoFile(d.dnf.repositories, d.trusted));
    const base = [
      ...d.base(reposdir, d.profile.target.version, `${scratch}/cache`),
      `--setopt=logdir=${scratch}/log`,
      `--setopt=persistdir=${scratch}/lib`,
    ];
    const avail = await runCommand([...base, '-q', '--refresh', 'repoquery', '--available', '--qf', '%{name}'], { signal: ctx.signal });
    if (avail.code !== 0) {
      const err = (avail.stderr + avail.stdout).trim().split('\n').slice(-1)[0] ?? `dnf exited with ${avail.code}`;
      return {
        reachable: false,
        error: err,
        downloadBytes: 0,
        installBytes: 0,
        upgrades: 0,
        installs: 0,
        removals: [],
        notInTarget: [],
        changes: [],
      };
    }
    const offered = new Set(avail.stdout.split('\n').filter(Boolean));
    const sim = await runCommand([...base, '--assumeno', '--allowerasing', 'distro-sync'], { signal: ctx.signal });
    const text = sim.stdout + sim.stderr;
    const unresolved = /^(Error|Problem)/m.test(text) && !/Operation aborted/.test(text);
    const installed = await d.installed();
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
      // Interim: only the packages without a target candidate are classified (as orphaned).
      changes: installed
        .filter((p) => !offered.has(p.name))
        .map((p) => ({ name: p.name, arch: p.arch, from: p.version, fate: 'orphaned' as const })),
    };
  } finally {
    await rm(d.root.at(scratch), { recursive: true, force: true });
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
