// Back to the source release's exact package set, from the source repositories.
import type { StepContext } from '../drivers/driver.ts';
import { type AptRoot, NONINTERACTIVE } from './apt-root.ts';
import { diffPackages, type InstalledPackage, packageKey } from './package-manager.ts';

export async function aptRestore(a: AptRoot, manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
  await a.root.withMounts(() =>
    a.withPolicyRc(async () => {
      await a.root.exec(['dpkg', '--configure', '-a', '--force-confdef', '--force-confold'], {
        env: NONINTERACTIVE,
        signal: ctx.signal,
      });
      await a.switchSources(a.apt.sourceRepositories);
      await a.aptGet(ctx, ['update']);
      // Everything back to its recorded version; whatever the upgrade added, purged.
      for (let pass = 1; pass <= 2; pass++) {
        const now = await a.installed();
        const diff = diffPackages(manifest, now);
        if (diff.missing.length + diff.extra.length + diff.changed.length === 0) break;
        ctx.log(
          `restore pass ${pass}: ${diff.missing.length} missing, ${diff.changed.length} at another version, ${diff.extra.length} extra`,
          'agent',
        );
        const current = new Map(now.map((n) => [packageKey(n), n.version]));
        const wanted = manifest.filter((p) => current.get(packageKey(p)) !== p.version).map((p) => `${p.name}:${p.arch}=${p.version}`);
        // `name-` removes within the same transaction (--purge: with its configuration);
        // the suffix goes on the bare name, apt would read `name:arch-` as arch "arch-".
        const purge = diff.extra.map((k) => `${k.slice(0, k.lastIndexOf(':'))}-`);
        await a.aptGet(ctx, ['--purge', '--allow-remove-essential', '--allow-change-held-packages', 'install', ...wanted, ...purge]);
      }
      // Last resort for packages apt keeps because something still depends on them.
      const extra = diffPackages(manifest, await a.installed()).extra;
      if (extra.length > 0) {
        const argv = ['dpkg', '--purge', '--force-depends', ...extra];
        ctx.log(`$ ${argv.join(' ')}`, 'agent');
        await a.root.mustExec(argv, { env: NONINTERACTIVE, signal: ctx.signal, onLine: (l, s) => ctx.log(l, s) });
      }
      // Holds as they were.
      const held = manifest.filter((p) => p.held).map((p) => p.name);
      if (held.length > 0) await a.root.mustExec(['apt-mark', 'hold', ...held], { env: NONINTERACTIVE });
    }),
  );
}
