// Back to the source release's exact package set, in the order planRestore decides, so
// that every binary on disk runs at every step:
//
// - `userland`: every package but the C library's back to its recorded version, and what
//   the upgrade added purged, in one apt-get call while the newer C library stays (older
//   binaries run on a newer glibc; the C library's packages are named at their installed
//   versions, so apt cannot move them).
// - `c-library`: the glibc packages at their recorded versions in ONE `dpkg --install`:
//   dpkg unpacks every archive before it configures any, so no script runs against a
//   libc6 whose libc-bin/locales are still the newer ones. Downloaded first by apt (which
//   also proves the set resolves), so nothing changes if it does not.
//
// Applying the older libc6 while the target's /bin/sh (GLIBC_2.34) is installed is what
// left dpkg "in a mess" before this order. Between the phases the root must run a shell,
// dpkg and apt, and `dpkg --audit` must be clean. Each phase is planned from the root as
// it is now, after `dpkg --configure -a`: a rollback killed anywhere plans only what is
// left when started again.
import { YxError } from '@yixing/common/base';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError } from '../os/command.ts';
import { type AptRoot, type DpkgState, installedOf, NONINTERACTIVE, unsettled } from './apt-root.ts';
import { type InstalledPackage, ManifestEntryError, packageKey } from './package-manager.ts';
import { withPhaseSpans } from './pm-phases.ts';

export { ManifestEntryError };

import { DEFAULT_LAST_SOURCES, fromLastSources, planRestore, type RestorePhase, type RestorePhaseName } from './restore-plan.ts';

/** The restore cannot go on safely: the root is not sound, or a phase did not reach its set. */
export class AptRestoreError extends YxError {
  readonly code = 'APT_RESTORE_FAILED';
  readonly retryable = false;
}

// Debian policy 5.6.1 (names), 5.6.12 (versions); architectures are lower-case words.
const NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;
const VERSION = /^(?:\d+:)?[0-9][A-Za-z0-9.+~-]*(?:-[A-Za-z0-9.+~]+)?$/;

function checked(p: InstalledPackage): InstalledPackage {
  const bad = !NAME.test(p.name) ? 'name' : !ARCH.test(p.arch) ? 'architecture' : !VERSION.test(p.version) ? 'version' : '';
  if (bad) {
    throw new ManifestEntryError(`the manifest's package ${JSON.stringify(packageKey(p))} has an invalid ${bad}`, {
      details: { name: p.name, arch: p.arch, version: p.version, field: bad },
    });
  }
  return p;
}

/** `name:arch=version`: apt installs exactly that version (downgrading if need be). */
export function aptInstallSpec(p: InstalledPackage): string {
  const { name, arch, version } = checked(p);
  return `${name}:${arch}=${version}`;
}

/** `name:arch-`: apt removes it in the same transaction (purged with --purge). */
export function aptRemoveSpec(p: InstalledPackage): string {
  const { name, arch } = checked(p);
  return `${name}:${arch}-`;
}

/** The file apt downloads the package to: the epoch's colon is written %3a. */
export function archiveFileName(p: InstalledPackage): string {
  const { name, arch, version } = checked(p);
  return `${name}_${version.replaceAll(':', '%3a')}_${arch}.deb`;
}

/**
 * apt-get's arguments for the userland phase: the phase's installs and removals, and the
 * C library's installed packages at the versions they have, so that apt resolves the
 * phase around the newer C library instead of moving it.
 */
export function userlandArgs(
  phase: RestorePhase,
  installed: readonly InstalledPackage[],
  lastSources: readonly string[] = DEFAULT_LAST_SOURCES,
): string[] {
  const keep = installed.filter((p) => fromLastSources(p, lastSources));
  return [
    '--purge',
    '--allow-remove-essential',
    '--allow-change-held-packages',
    'install',
    '--',
    ...phase.install.map(aptInstallSpec),
    ...keep.map(aptInstallSpec),
    ...phase.remove.map(aptRemoveSpec),
  ];
}

/**
 * What a rollback killed inside dpkg left that apt refuses to work around: a package dpkg
 * marked "reinstallation required" keeps the version it was leaving (the target's), and
 * apt, now reading the source repositories only, stops with "needs to be reinstalled, but
 * I can't find an archive for it". Such a package of the manifest is unpacked again at its
 * recorded version by dpkg (the phase then configures it); one the manifest does not have
 * was being removed and is purged. The C library's are left to its own phase, which
 * installs its packages together. Pure.
 */
export function settleInterrupted(
  states: readonly DpkgState[],
  manifest: readonly InstalledPackage[],
  lastSources: readonly string[] = DEFAULT_LAST_SOURCES,
): { unpack: InstalledPackage[]; purge: DpkgState[] } {
  const recorded = new Map(manifest.map((p) => [packageKey(p), p]));
  const broken = states.filter((s) => s.reinstRequired && !fromLastSources(s, lastSources));
  const unpack = broken.flatMap((s) => recorded.get(packageKey(s)) ?? []);
  const purge = broken.filter((s) => !recorded.has(packageKey(s)));
  return { unpack, purge };
}

/** `apt-get download` of exact versions into apt's archive directory; the files' paths. */
async function downloadArchives(a: AptRoot, ctx: StepContext, packages: readonly InstalledPackage[]): Promise<string[]> {
  // apt-get download reads the package lists without applying dpkg's state, so it works
  // where `install --download-only` refuses a package that needs reinstalling; it writes
  // to the working directory, hence the cd inside the root.
  const dir = '/var/cache/apt/archives';
  const argv = ['/bin/sh', '-c', `cd ${dir} && exec apt-get -q download -- "$@"`, 'apt-get-download', ...packages.map(aptInstallSpec)];
  ctx.log(`$ (cd ${dir}) apt-get download ${packages.map(aptInstallSpec).join(' ')}`, 'agent');
  await withPhaseSpans(
    'apt',
    ['apt-get', 'download'],
    (l, s) => ctx.log(l, s),
    async (onLine) => {
      const r = await a.root.exec(argv, { env: NONINTERACTIVE, signal: ctx.signal, onLine });
      if (r.code !== 0) throw new AptRestoreError(`apt-get download exited with ${r.code}: ${(r.stderr || r.stdout).trim().slice(-1000)}`);
    },
  );
  return downloaded(a, packages);
}

/** The archives apt downloaded for exactly these versions; an error naming any missing. */
function downloaded(a: AptRoot, packages: readonly InstalledPackage[]): string[] {
  const files = packages.map((p) => `/var/cache/apt/archives/${archiveFileName(p)}`);
  const absent = files.filter((f) => !a.root.exists(f));
  if (absent.length > 0) throw new AptRestoreError(`apt did not download ${absent.join(' ')}`);
  return files;
}

/** Packages a killed run left needing reinstallation, settled before apt is asked for anything. */
async function settleKilledPackages(a: AptRoot, ctx: StepContext, manifest: readonly InstalledPackage[]): Promise<void> {
  const { unpack, purge } = settleInterrupted(await a.states(), manifest);
  if (unpack.length > 0) {
    ctx.log(`interrupted: ${unpack.map(packageKey).join(' ')} need reinstalling; unpacking the recorded versions`, 'agent');
    await a.dpkg(ctx, ['--unpack', '--', ...(await downloadArchives(a, ctx, unpack))]);
  }
  if (purge.length > 0) {
    ctx.log(`interrupted: ${purge.map(packageKey).join(' ')} were being removed; purging them`, 'agent');
    await a.dpkg(ctx, ['--purge', '--force-remove-reinstreq', '--', ...purge.map((p) => packageKey(p))]);
  }
}

const STATE_NAMES: Record<string, string> = {
  H: 'half-installed',
  U: 'unpacked',
  F: 'half-configured',
  W: 'awaiting triggers',
  t: 'triggers pending',
};

/** What is wrong with the root ('' when it is sound): its programs, then dpkg's records. */
async function soundness(a: AptRoot, ctx: StepContext, allowUnsettled: (s: DpkgState) => boolean): Promise<string> {
  const problems: string[] = [];
  for (const argv of [
    ['/bin/sh', '-c', 'true'],
    ['dpkg', '--version'],
    ['apt-get', '--version'],
  ]) {
    const r = await a.root.exec(argv, { env: NONINTERACTIVE, signal: ctx.signal });
    if (r.code !== 0) problems.push(`\`${argv.join(' ')}\` exited with ${r.code}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  }
  if (problems.length > 0) return problems.join('; ');
  const left = unsettled(await a.states()).filter((s) => !allowUnsettled(s));
  if (left.length > 0) {
    const what = left.map((s) => `${s.name}:${s.arch} ${s.reinstRequired ? 'needs reinstalling' : (STATE_NAMES[s.status] ?? s.status)}`);
    return `dpkg has not finished with ${what.join(', ')}`;
  }
  return '';
}

/**
 * Before the C library changes: the root runs its shell, dpkg and apt, and dpkg has
 * finished with every package but the C library's (a rollback killed inside its phase
 * leaves those unfinished; the phase finishes them).
 */
async function mustRunBeforeCLibrary(a: AptRoot, ctx: StepContext): Promise<void> {
  const problem = await soundness(a, ctx, (s) => fromLastSources(s));
  if (problem) throw new AptRestoreError(`before the C library changes, the root is not sound; nothing more is changed: ${problem}`);
  ctx.log('before the C library: the root runs its shell, dpkg and apt; dpkg has finished with every other package', 'agent');
}

/** At the end: sound, and `dpkg --audit` itself has nothing to say. */
async function mustBeSoundAtEnd(a: AptRoot, ctx: StepContext): Promise<void> {
  let problem = await soundness(a, ctx, () => false);
  if (!problem) {
    const audit = await a.root.exec(['dpkg', '--audit'], { env: NONINTERACTIVE, signal: ctx.signal });
    if (audit.code !== 0 || audit.stdout.trim() !== '')
      problem = `dpkg --audit: ${audit.stdout.trim().replace(/\s+/g, ' ').slice(0, 2000)}`;
  }
  if (problem) throw new AptRestoreError(`after the C library was restored, the root is not sound: ${problem}`);
  ctx.log('restored: the root runs its shell, dpkg and apt; dpkg --audit is clean', 'agent');
}

/**
 * The userland phase in one apt-get call. A second pass runs without apt's immediate
 * configuration: on a root a killed rollback left half way, apt configured
 * libk5crypto3 1.18 right after unpacking it, while the installed libkrb5support0 1.20
 * Breaks it (<< 1.20), and stopped; without immediate configuration it unpacks both first.
 */
async function runUserland(a: AptRoot, ctx: StepContext, phase: RestorePhase, installed: InstalledPackage[], pass: number): Promise<void> {
  const args = userlandArgs(phase, installed);
  if (pass === 1) {
    try {
      await a.aptGet(ctx, args);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      ctx.log(`the userland phase stopped (${err.message.slice(0, 300)}); finishing what dpkg began, then a second pass`, 'stderr');
      await a.configurePending(ctx);
    }
    return;
  }
  await a.aptGet(ctx, ['-o', 'APT::Immediate-Configure=0', ...args]);
}

async function runCLibrary(a: AptRoot, ctx: StepContext, phase: RestorePhase, states: readonly DpkgState[]): Promise<void> {
  if (phase.install.length > 0) {
    // Normally apt resolves the set first (proving it installs) and downloads it; after a
    // kill inside this phase a C library package needs reinstalling and apt refuses to
    // resolve anything, so the recorded versions are fetched as they are.
    let files: string[];
    if (states.some((s) => s.reinstRequired)) files = await downloadArchives(a, ctx, phase.install);
    else {
      await a.aptGet(ctx, ['--download-only', 'install', '--', ...phase.install.map(aptInstallSpec)]);
      files = downloaded(a, phase.install);
    }
    await a.dpkg(ctx, ['--install', '--', ...files]);
  }
  if (phase.remove.length > 0) await a.dpkg(ctx, ['--purge', '--', ...phase.remove.map((p) => packageKey(checked(p)))]);
}

/**
 * Packages of the phase at their recorded version but with files missing (see
 * AptRoot.missingFiles) installed again, once; still incomplete, the restore stops.
 */
async function reinstallIncomplete(a: AptRoot, ctx: StepContext, phase: RestorePhaseName): Promise<void> {
  const ofPhase = (await a.installed()).filter((p) => fromLastSources(p) === (phase === 'c-library'));
  let missing = await a.missingFiles(ofPhase);
  if (missing.size === 0) return;
  const incomplete = ofPhase.filter((p) => missing.has(packageKey(p)));
  for (const p of incomplete)
    ctx.log(`${packageKey(p)} ${p.version} lacks ${(missing.get(packageKey(p)) ?? []).join(' ')}: installing it again`, 'agent');
  await a.aptGet(ctx, ['--reinstall', 'install', '--', ...incomplete.map(aptInstallSpec)]);
  missing = await a.missingFiles(incomplete);
  if (missing.size > 0) {
    const what = [...missing].map(([k, files]) => `${k}: ${files.join(' ')}`);
    throw new AptRestoreError(`after the ${phase} phase, installed again, packages still lack files: ${what.join('; ')}`);
  }
}

export async function aptRestore(a: AptRoot, manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
  manifest.forEach(checked);
  await a.root.withMounts(() =>
    a.withPolicyRc(async () => {
      // Whatever a killed run left unpacked or half configured, finished first.
      await a.configurePending(ctx);
      await a.switchSources(a.apt.sourceRepositories);
      // A source repository that does not answer stops the restore here, before any change
      // (apt-get update otherwise warns and goes on with the lists it had).
      await a.aptGet(ctx, ['-o', 'APT::Update::Error-Mode=any', 'update']);
      await settleKilledPackages(a, ctx, manifest);
      for (const [name, percent] of [
        ['userland', 15],
        ['c-library', 50],
      ] as const) {
        for (let pass = 1; ; pass++) {
          const states = await a.states();
          const installed = installedOf(states);
          const phase = planRestore(manifest, installed).find((p) => p.name === name);
          if (!phase) break;
          if (pass > 2) {
            const left = [...phase.install.map(aptInstallSpec), ...phase.remove.map(aptRemoveSpec)];
            throw new AptRestoreError(`the ${name} phase did not reach the recorded packages after 2 passes: ${left.join(' ')}`);
          }
          if (name === 'c-library') await mustRunBeforeCLibrary(a, ctx);
          ctx.progress(percent + (pass - 1) * 5, `${name}: ${phase.install.length} to install, ${phase.remove.length} to remove`);
          ctx.log(`restore ${name} pass ${pass}: ${phase.install.length} to install, ${phase.remove.length} to remove`, 'agent');
          if (name === 'userland') await runUserland(a, ctx, phase, installed, pass);
          else await runCLibrary(a, ctx, phase, states);
        }
        await reinstallIncomplete(a, ctx, name);
      }
      await mustBeSoundAtEnd(a, ctx);
      await a.setHolds(manifest.filter((p) => p.held).map((p) => p.name));
    }),
  );
}
