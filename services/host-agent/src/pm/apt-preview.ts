// What the upgrade to the target release would do, computed with apt against throwaway
// lists and caches: nothing in the root changes.
import type { StepContext } from '../drivers/driver.ts';
import { runCommand } from '../os/command.ts';
import { APT_CHANGE, type AptRoot, NONINTERACTIVE } from './apt-root.ts';
import type { UpgradePreview } from './package-manager.ts';

export async function aptPreview(a: AptRoot, ctx: StepContext): Promise<UpgradePreview> {
  return a.withScratch(a.apt.repositories, async (args) => {
    const update = await runCommand(['apt-get', ...args, 'update', '-q'], { env: NONINTERACTIVE, signal: ctx.signal });
    if (update.code !== 0 || /^(E|Err):/m.test(update.stdout + update.stderr)) {
      const err =
        (update.stderr + update.stdout).split('\n').find((l) => /^(E|Err):/.test(l)) ?? `apt-get update exited with ${update.code}`;
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
    const installed = await a.installed();
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
      // Interim: only the packages without a target candidate are classified (as orphaned).
      changes: installed
        .filter((p) => !offered.has(p.name))
        .map((p) => ({ name: p.name, arch: p.arch, from: p.version, fate: 'orphaned' as const })),
    };
  });
}

/** "12.3 MB" → bytes (apt prints decimal units). */
export function parseSize(text: string | undefined): number {
  if (!text) return 0;
  const m = /([\d.,]+)\s*([kMG]?)B/.exec(text);
  if (!m) return 0;
  const n = Number((m[1] as string).replace(/,/g, ''));
  return Math.round(n * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 } as Record<string, number>)[m[2] as string]!);
}
