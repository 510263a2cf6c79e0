// What the upgrade to the target release would do, computed with apt against throwaway
// lists and caches: nothing in the root changes. The source and the target repositories
// are fetched into separate scratch directories; their `Packages` indexes are read
// directly (every version of every package, as published) and the simulation's
// Inst/Remv lines say what the upgrade does; classify-upgrade.ts decides each package's fate.
import { createReadStream } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { StepContext } from '../drivers/driver.ts';
import { type CommandResult, runCommand } from '../os/command.ts';
import { offeredFromStanza, parseAptSimulation, StanzaReader } from './apt-indexes.ts';
import { ASSESSED_LISTS, type AssessedLists, keepLists } from './apt-lists.ts';
import { APT_CHANGE, type AptRoot, NONINTERACTIVE } from './apt-root.ts';
import { classifyUpgrade, type OfferedPackage } from './classify-upgrade.ts';
import { type InstalledPackage, packageKey, type UpgradePreview } from './package-manager.ts';
import { compareDebianVersions } from './version-compare.ts';

// Indexes stored as fetched, whatever the machine's apt.conf says (Docker images turn on
// GzipIndexes, which stores them lz4-compressed).
const PLAIN_LISTS = ['-o', 'Acquire::GzipIndexes=false'];

/** `apt-get update` into the scratch lists; the first error line when it fails. */
async function update(args: string[], ctx: StepContext): Promise<string> {
  const r = await runCommand(['apt-get', ...args, ...PLAIN_LISTS, 'update', '-q'], { env: NONINTERACTIVE, signal: ctx.signal });
  if (r.code === 0 && !/^(E|Err):/m.test(r.stdout + r.stderr)) return '';
  return (r.stderr + r.stdout).split('\n').find((l) => /^(E|Err):/.test(l)) ?? `apt-get update exited with ${r.code}`;
}

/** Every package of every `Packages` index in the scratch lists. */
async function readIndexes(args: string[], ctx: StepContext): Promise<OfferedPackage[]> {
  const targets = await runCommand(
    ['apt-get', ...args, ...PLAIN_LISTS, 'indextargets', '--format', '$(FILENAME)', 'Created-By: Packages'],
    { env: NONINTERACTIVE, signal: ctx.signal },
  );
  if (targets.code !== 0) throw new Error(`apt-get indextargets exited with ${targets.code}: ${targets.stderr.trim()}`);
  const out: OfferedPackage[] = [];
  const reader = new StanzaReader((f) => {
    const p = offeredFromStanza(f);
    if (p) out.push(p);
  });
  for (const file of targets.stdout.split('\n').filter(Boolean)) {
    // A target whose index was not published (an empty component) has no file.
    if (
      !(await access(file).then(
        () => true,
        () => false,
      ))
    )
      continue;
    const raw = createReadStream(file);
    for await (const line of createInterface({ input: file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw, crlfDelay: Infinity })) {
      reader.line(line);
    }
    reader.end();
  }
  return out;
}

/** Installed packages with their source package, from the root's dpkg status. */
async function withSources(a: AptRoot, installed: InstalledPackage[]): Promise<InstalledPackage[]> {
  const sources = new Map<string, string>();
  const reader = new StanzaReader((f) => {
    const p = offeredFromStanza(f);
    if (p) sources.set(packageKey(p), p.source ?? p.name);
  });
  for (const line of (await readFile(a.root.at('var/lib/dpkg/status'), 'utf8')).split('\n')) reader.line(line);
  reader.end();
  return installed.map((p) => ({ ...p, source: p.source ?? sources.get(packageKey(p)) ?? p.name }));
}

export async function aptPreview(a: AptRoot, ctx: StepContext): Promise<UpgradePreview> {
  const source = await a.withScratch(a.apt.sourceRepositories, async (args) => {
    const error = await update(args, ctx);
    return error ? { error, packages: null } : { error: '', packages: await readIndexes(args, ctx) };
  });
  return a.withScratch(a.apt.repositories, async (args, lists) => {
    const error = await update(args, ctx);
    if (error) {
      return {
        reachable: false,
        error,
        sourceError: source.error,
        downloadBytes: 0,
        installBytes: 0,
        upgrades: 0,
        installs: 0,
        removals: [],
        changes: [],
      };
    }
    // A simulation still writes the planner's log (var/log/apt/eipp.log.xz): into the scratch.
    const logs = await mkdtemp(path.join(tmpdir(), 'yx-apt-log-'));
    const APT_PREVIEW = [...APT_CHANGE.filter((a) => a !== '-y'), '-o', `Dir::Log=${logs}`];
    let summary: CommandResult;
    let sim: CommandResult;
    try {
      // --assume-no prints the whole summary (sizes included) and stops before changing anything.
      summary = await runCommand(['apt-get', ...args, ...APT_PREVIEW, '--assume-no', 'full-upgrade'], {
        env: NONINTERACTIVE,
        signal: ctx.signal,
      });
      // -s lists each action (Inst/Remv) in a stable, parseable form.
      sim = await runCommand(['apt-get', ...args, ...APT_PREVIEW, '-s', 'full-upgrade'], { env: NONINTERACTIVE, signal: ctx.signal });
    } finally {
      await rm(logs, { recursive: true, force: true });
    }
    const text = summary.stdout + summary.stderr;
    const aborted = /^Abort\.?$/m.test(text) || /0 upgraded, 0 newly installed, 0 to remove/.test(text);
    const plan = parseAptSimulation(sim.stdout);
    const installed = await withSources(a, await a.installed());
    const changes = classifyUpgrade({
      installed,
      source: source.packages,
      target: await readIndexes(args, ctx),
      plan,
      compare: compareDebianVersions,
    });
    // The upgrade of this run starts from these lists instead of downloading them again (apt-lists.ts).
    if (!ctx.dryRun) await ctx.runData.set(ASSESSED_LISTS, await keepLists(lists, ctx.runData.get<AssessedLists>(ASSESSED_LISTS)));
    return {
      reachable: true,
      error: summary.code === 0 || aborted ? '' : (text.split('\n').find((l) => /^E:/.test(l)) ?? `simulation exited with ${summary.code}`),
      sourceError: source.error,
      downloadBytes: parseSize(/Need to get ([\d.,]+ [kMG]?B)/.exec(text)?.[1]),
      installBytes: parseSize(/After this operation, ([\d.,]+ [kMG]?B) of additional/.exec(text)?.[1]),
      upgrades: Number(/(\d+) upgraded/.exec(text)?.[1] ?? 0),
      installs: Number(/(\d+) newly installed/.exec(text)?.[1] ?? 0),
      removals: plan.removes.map((r) => r.name),
      changes,
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
