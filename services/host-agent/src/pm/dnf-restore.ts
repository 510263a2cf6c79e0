import type { StepContext } from '../drivers/driver.ts';
import { CommandError, runCommand } from '../os/command.ts';
import { type DnfRoot, nevra } from './dnf-root.ts';
import { diffPackages, type InstalledPackage, packageKey } from './package-manager.ts';

export async function dnfRestore(d: DnfRoot, manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
  const source = d.profile.source.versions[0] as string;
  const reposdir = await d.switchRepos(d.dnf.sourceRepositories, 'source');
  const base = d.base(reposdir, source);
  const want = new Map(manifest.map((p) => [packageKey(p), p]));
  // Whatever the migration brought that was not there before goes first, dependencies
  // notwithstanding: the recorded set is put back whole right after.
  const extra = (await d.installed()).filter((p) => !want.has(packageKey(p)));
  if (extra.length > 0) {
    const argv = ['rpm', '--root', d.root.path, '-e', '--nodeps', ...extra.map((p) => `${p.name}.${p.arch}`)];
    ctx.log(`$ ${argv.join(' ')}`, 'agent');
    const r = await runCommand(argv, { signal: ctx.signal });
    if (r.code !== 0) throw new CommandError(argv, r);
  }
  for (let pass = 1; pass <= 2; pass++) {
    const now = await d.installed();
    const have = new Map(now.map((p) => [packageKey(p), p.version]));
    const missing = manifest.filter((p) => !have.has(packageKey(p)));
    const other = manifest.filter((p) => have.has(packageKey(p)) && have.get(packageKey(p)) !== p.version);
    if (missing.length + other.length === 0) break;
    ctx.log(`restore pass ${pass}: ${missing.length} missing, ${other.length} at another version`, 'agent');
    // `install` of an exact NEVRA installs that version whatever is installed now.
    await d.dnfRun(ctx, [...base, '-y', '--allowerasing', 'install', ...[...missing, ...other].map(nevra)]);
  }
  const left = diffPackages(manifest, await d.installed());
  if (left.extra.length > 0) await d.dnfRun(ctx, [...base, '-y', 'remove', '--noautoremove', ...left.extra]);
}
