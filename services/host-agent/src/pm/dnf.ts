// The dnf package manager (EL, openEuler, BC-Linux): the lock check and the upgrade
// here (release package swap, distro-sync with erasing, grub, initramfs, SELinux
// relabel); the preview (dnf-preview.ts) and the restore (dnf-restore.ts) have their own
// files.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError, runCommand } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { Profile } from '../profiles/profile.ts';
import { type ListsReport, sinceAssessment } from './apt-lists.ts';
import { ASSESSED_DNF_CACHE, type AssessedDnfCache, ROOT_DNF_CACHE, repomdDigests, seedDnfCache } from './dnf-cache.ts';
import { dnfPreview, sizeOf } from './dnf-preview.ts';
import { dnfRestore } from './dnf-restore.ts';
import { DnfRoot, readDnfRepos } from './dnf-root.ts';
import type { ConfiguredRepo, InstalledPackage, LockState, PackageManager, UpgradePreview } from './package-manager.ts';

export { readDnfRepos, repoFile } from './dnf-root.ts';
export { sizeOf };

export class DnfPackageManager implements PackageManager {
  readonly name = 'dnf' as const;
  readonly cacheDir = '/var/cache/dnf';
  readonly #d: DnfRoot;

  constructor(root: HostRoot, profile: Profile, opts: { trusted: boolean }) {
    this.#d = new DnfRoot(root, profile, opts.trusted);
  }

  installed(): Promise<InstalledPackage[]> {
    return this.#d.installed();
  }

  repositories(): Promise<ConfiguredRepo[]> {
    return readDnfRepos(this.#d.root);
  }

  async lockState(): Promise<LockState> {
    const details: string[] = [];
    for (const f of [
      'var/run/yum.pid',
      'run/yum.pid',
      'var/run/dnf.pid',
      'run/dnf.pid',
      'var/cache/dnf/metadata_lock.pid',
      'var/lib/dnf/rpmdb_lock.pid',
      'run/dnf/rpmdb_lock.pid',
    ]) {
      const pid = Number((await readFile(this.#d.root.at(f), 'utf8').catch(() => '')).trim());
      if (pid > 0 && existsSync(`/proc/${pid}`)) details.push(`${f} names running process ${pid}`);
    }
    const yumTx = await readdir(this.#d.root.at('var/lib/yum')).catch(() => [] as string[]);
    const unfinished = yumTx.filter((f) => f.startsWith('transaction-all.'));
    if (unfinished.length > 0) details.push(`unfinished yum transaction ${unfinished[0]}`);
    return { locked: details.some((d) => d.includes('process')), interrupted: unfinished.length > 0, detail: details.join('; ') };
  }

  preview(ctx: StepContext): Promise<UpgradePreview> {
    return dnfPreview(this.#d, ctx);
  }

  async upgrade(ctx: StepContext, resume: boolean): Promise<{ transaction: string; lists: ListsReport }> {
    const reposdir = await this.#d.switchRepos(this.#d.dnf.repositories, 'target');
    const base = this.#d.base(reposdir, this.#d.profile.target.version);
    ctx.progress(10, 'repositories switched to the target release');
    const kept = ctx.runData.get<AssessedDnfCache>(ASSESSED_DNF_CACHE);
    const reused = kept ? await seedDnfCache(this.#d.root, kept, (line) => ctx.log(line, 'agent')) : false;
    // The first command checks each repomd.xml: unchanged, the kept metadata serves; else dnf fetches the new.
    const refresh = ['--refresh'];
    const first = (): string[] => refresh.splice(0);
    if (resume) ctx.log('resuming: the swap and distro-sync run again from where the package set is now', 'agent');
    // Release swap: the old release packages out (they conflict on /etc/os-release), the new in.
    const names = new Set((await this.#d.installed()).map((p) => p.name));
    const remove = this.#d.dnf.releaseSwap.remove.filter((n) => names.has(n));
    if (remove.length > 0) {
      const argv = ['rpm', '--root', this.#d.root.path, '-e', '--nodeps', '--', ...remove];
      ctx.log(`$ ${argv.join(' ')}`, 'agent');
      const r = await runCommand(argv, { signal: ctx.signal });
      if (r.code !== 0) throw new CommandError(argv, r);
    }
    const install = this.#d.dnf.releaseSwap.install.filter((n) => !names.has(n));
    if (install.length > 0) await this.#d.dnfRun(ctx, [...base, ...first(), '-y', 'install', '--', ...install]);
    ctx.progress(30, 'release package swapped');
    await this.#d.dnfRun(ctx, [...base, ...first(), '-y', ...(this.#d.dnf.allowErasing ? ['--allowerasing'] : []), 'distro-sync']);
    ctx.progress(85, 'distro-sync done');
    const since = sinceAssessment(kept?.repomds, await repomdDigests(this.#d.root.at(ROOT_DNF_CACHE), Object.keys(kept?.repomds ?? {})));
    if (since === 'changed')
      ctx.log('the target repositories published new metadata since the assessment: the upgrade used the new', 'agent');
    await this.#afterUpgrade(ctx);
    const history = await runCommand([...base, 'history', 'info', 'last']);
    return { transaction: history.stdout.slice(0, 8000), lists: { reused, sinceAssessment: since } };
  }

  async #afterUpgrade(ctx: StepContext): Promise<void> {
    const after = this.#d.dnf.afterUpgrade;
    if (after.grub && this.#d.root.exists('usr/sbin/grub2-mkconfig') && this.#d.root.exists('boot/grub2')) {
      await this.#d.root.withMounts(() =>
        this.#d.root.mustExec(['grub2-mkconfig', '-o', '/boot/grub2/grub.cfg'], { onLine: (l, s) => ctx.log(l, s) }),
      );
    } else if (after.grub) ctx.log('no grub2 in this root: boot loader configuration left alone', 'agent');
    if (after.initramfs && this.#d.root.exists('usr/bin/dracut')) {
      await this.#d.root.withMounts(() => this.#d.root.mustExec(['dracut', '-f', '--regenerate-all'], { onLine: (l, s) => ctx.log(l, s) }));
    } else if (after.initramfs) ctx.log('no dracut in this root: initramfs left alone', 'agent');
    const selinux = await readFile(this.#d.root.at('etc/selinux/config'), 'utf8').catch(() => '');
    if (after.selinuxRelabel && selinux && !/^\s*SELINUX\s*=\s*disabled/m.test(selinux)) {
      await this.#d.root.writeInside('.autorelabel', '');
      ctx.log('SELinux relabel scheduled for the first boot (/.autorelabel)', 'agent');
    }
  }

  restore(manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
    return dnfRestore(this.#d, manifest, ctx);
  }
}
