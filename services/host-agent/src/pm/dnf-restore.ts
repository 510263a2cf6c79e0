// Back to the source release's exact package set, in the order planRestore decides: the
// userland first while the newer C library stays (older binaries run on a newer glibc),
// then the glibc packages in one transaction. Each phase is one dnf transaction, planned
// from the root as it is now, so a rollback killed half way redoes only what is left.
//
// What the upgrade added goes in the same transaction as its phase's downgrades, never
// before them with `rpm -e --nodeps`: in one transaction rpm erases a package only after
// everything that needs it is replaced, so a library the target's /bin/sh needs
// (libtinfo.so.6 of ncurses-libs, pcre2 for openEuler's coreutils) stays until the older
// shell is in, and every %preun still finds a shell that runs; the release packages'
// file conflict (/etc/os-release) resolves in that transaction as well.
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { YxError } from '@yixing/common/base';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError, runCommand } from '../os/command.ts';
import { type DnfRoot, nevra } from './dnf-root.ts';
import { diffPackages, type InstalledPackage, packageKey } from './package-manager.ts';
import { DEFAULT_LAST_SOURCES, fromLastSources, planRestore, type RestorePhase, type RestorePhaseName } from './restore-plan.ts';

/** A phase left the root in a state the next one must not start from. */
export class RestoreCheckError extends YxError {
  readonly code = 'RESTORE_CHECK_FAILED';
  readonly retryable = false;
}

/**
 * The phase as one `dnf shell` transaction: its installs and removals resolved and run
 * together; `reinstall`: packages whose scriptlets a killed transaction may have cut short.
 */
export function transactionScript(phase: RestorePhase, reinstall: readonly InstalledPackage[] = []): string {
  return [
    ...(phase.install.length > 0 ? [`install ${phase.install.map(nevra).join(' ')}`] : []),
    ...(reinstall.length > 0 ? [`reinstall ${reinstall.map(nevra).join(' ')}`] : []),
    ...(phase.remove.length > 0 ? [`remove ${phase.remove.map(nevra).join(' ')}`] : []),
    'run',
    '',
  ].join('\n');
}

/**
 * Entries a transaction killed half way leaves in the rpm database: a name.arch installed
 * at two versions (the new one added, the old one not yet cleaned up). All but the
 * recorded version go; when none is the recorded one, the first stays for the
 * dependencies until the phase installs the recorded one.
 */
export function strayDuplicates(installed: readonly InstalledPackage[], manifest: readonly InstalledPackage[]): InstalledPackage[] {
  const want = new Map(manifest.map((p) => [packageKey(p), p.version]));
  const byKey = new Map<string, InstalledPackage[]>();
  for (const p of installed) byKey.set(packageKey(p), [...(byKey.get(packageKey(p)) ?? []), p]);
  return [...byKey.values()]
    .filter((same) => same.length > 1)
    .flatMap((same) => {
      const keep = same.find((p) => p.version === want.get(packageKey(p))) ?? (same[0] as InstalledPackage);
      return same.filter((p) => p !== keep);
    });
}

/** What dnfRestore saves with ctx.checkpoint() before a phase's transaction, and after its check. */
export interface RestoreCheckpoint {
  dnfRestore: { phase: RestorePhaseName; installs: string[]; checked: boolean };
}

/**
 * The packages a transaction of this phase, killed before its check, had installed: they
 * are at their recorded version, but rpm keeps no record of whether their %post finished,
 * so they are installed again (a reinstall runs the scriptlets once more, as they are
 * written to allow).
 */
export function cutShort(last: unknown, phase: RestorePhaseName, installed: readonly InstalledPackage[]): InstalledPackage[] {
  const saved = (last as Partial<RestoreCheckpoint> | undefined)?.dnfRestore;
  if (saved?.phase !== phase || saved.checked || !Array.isArray(saved.installs)) return [];
  const installs = new Set(saved.installs);
  return installed.filter((p) => installs.has(nevra(p)));
}

/** Installed packages of the C library's source packages: the userland phase must not take them away. */
export function cLibraryNames(installed: readonly InstalledPackage[], lastSources: readonly string[] = DEFAULT_LAST_SOURCES): string[] {
  return [...new Set(installed.filter((p) => fromLastSources(p, lastSources)).map((p) => p.name))].sort();
}

const PHASES: { name: RestorePhaseName; progress: number }[] = [
  { name: 'userland', progress: 15 },
  { name: 'c-library', progress: 45 },
];

export async function dnfRestore(d: DnfRoot, manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
  const source = d.profile.source.versions[0] as string;
  const reposdir = await d.switchRepos(d.dnf.sourceRepositories, 'source');
  const base = d.base(reposdir, source);
  await dropStrayDuplicates(d, manifest, ctx);
  const work = await mkdtemp(path.join(tmpdir(), 'yx-dnf-restore-'));
  try {
    for (const { name, progress } of PHASES) {
      const now = await d.installed();
      const phase = planRestore(manifest, now).find((p) => p.name === name) ?? { name, install: [], remove: [] };
      const again = cutShort(ctx.lastCheckpoint, name, now);
      if (phase.install.length + phase.remove.length + again.length === 0) {
        ctx.log(`${name} phase: nothing left to do`, 'agent');
        continue;
      }
      ctx.progress(
        progress,
        `${name} phase: ${phase.install.length} to install at their recorded versions, ${phase.remove.length} to remove, ${again.length} to install again`,
      );
      const text = transactionScript(phase, again);
      const script = path.join(work, `${name}.dnf`);
      await writeFile(script, text);
      ctx.log(`${name} transaction:\n${text}`, 'agent');
      const checkpoint = (checked: boolean): RestoreCheckpoint => ({
        dnfRestore: { phase: name, installs: [...phase.install, ...again].map(nevra), checked },
      });
      await ctx.checkpoint(checkpoint(false));
      const keep = name === 'userland' ? cLibraryNames(now) : [];
      await d.dnfRun(ctx, [
        ...base,
        '-y',
        // Whatever dnf resolves, the C library stays for its own phase (this replaces the
        // root's protected list for the rollback: what the upgrade added must be removable).
        ...(keep.length > 0 ? [`--setopt=protected_packages=${keep.join(',')}`] : []),
        'shell',
        script,
      ]);
      await checkPhase(d, ctx, name, phase);
      await ctx.checkpoint(checkpoint(true));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  // What dnf kept because something outside the recorded set still needed it: the shell
  // and the C library are the recorded ones by now, so removing it strands nothing.
  const left = diffPackages(manifest, await d.installed());
  if (left.extra.length > 0) await d.dnfRun(ctx, [...base, '-y', 'remove', '--noautoremove', '--', ...left.extra]);
  ctx.progress(65, 'packages at their recorded versions');
}

/** A killed transaction's duplicate entries go from the database, then the kept version is made whole. */
async function dropStrayDuplicates(d: DnfRoot, manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
  const stray = strayDuplicates(await d.installed(), manifest);
  if (stray.length === 0) return;
  ctx.log(`an interrupted transaction left duplicate packages: ${stray.map(nevra).join(' ')}`, 'agent');
  // Files the kept version shares stay (rpm removes only what no other package owns);
  // the scriptlets belong to a transaction that is not being finished.
  await rpm(d, ctx, ['-e', '--nodeps', '--noscripts', '--', ...stray.map(nevra)]);
  const kept = new Set(stray.map(packageKey));
  for (const p of await d.installed()) {
    if (!kept.has(packageKey(p))) continue;
    const verify = await runCommand(['rpm', '--root', d.root.path, '-V', '--nodeps', '--noconfig', '--', nevra(p)]);
    if (verify.code === 0) continue;
    // Out of the database only: the phase then installs it again, whole, with its scriptlets.
    ctx.log(`${nevra(p)} is not whole (${verify.stdout.trim().split('\n').length} files differ): it is installed again`, 'agent');
    await rpm(d, ctx, ['-e', '--nodeps', '--noscripts', '--justdb', '--', nevra(p)]);
  }
}

async function rpm(d: DnfRoot, ctx: StepContext, args: string[]): Promise<void> {
  const argv = ['rpm', '--root', d.root.path, ...args];
  ctx.log(`$ ${argv.join(' ')}`, 'agent');
  const r = await runCommand(argv, { signal: ctx.signal, onLine: (l, s) => ctx.log(l, s) });
  if (r.code !== 0) throw new CommandError(argv, r);
}

/**
 * After a phase: the root's /bin/sh runs (every later scriptlet needs it), the rpm
 * database has no broken dependency, and the phase's packages are as their headers say.
 */
async function checkPhase(d: DnfRoot, ctx: StepContext, name: RestorePhaseName, phase: RestorePhase): Promise<void> {
  const problems: string[] = [];
  const hasShell = await lstat(d.root.at('bin/sh')).then(
    () => true,
    () => false,
  );
  if (hasShell) {
    const sh = await d.root.exec(['/bin/sh', '-c', 'exit 0']);
    if (sh.code !== 0) problems.push(`the root's /bin/sh does not run (exit ${sh.code}): ${sh.stderr.trim()}`);
  } else ctx.log('this root has no /bin/sh: no shell to check', 'agent');
  const deps = await runCommand(['rpm', '--root', d.root.path, '-Va', '--nofiles', '--noscripts']);
  if (deps.code !== 0) problems.push(`rpm -Va --nofiles: ${(deps.stdout + deps.stderr).trim()}`);
  const now = new Map((await d.installed()).map((p) => [packageKey(p), p]));
  const installed = phase.install.map((p) => now.get(packageKey(p))).filter((p): p is InstalledPackage => p !== undefined);
  if (installed.length > 0) {
    const files = await runCommand(['rpm', '--root', d.root.path, '-V', '--nodeps', '--noconfig', '--', ...installed.map(nevra)]);
    if (files.code !== 0) problems.push(`rpm -V of the phase's packages: ${(files.stdout + files.stderr).trim()}`);
  }
  if (problems.length > 0)
    throw new RestoreCheckError(`after the ${name} phase: ${problems.join('; ')}`, { details: { phase: name, problems } });
  ctx.log(`${name} phase checked: /bin/sh runs, rpm dependencies hold, ${installed.length} packages verified`, 'agent');
}
