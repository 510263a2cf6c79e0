// The apt package manager (Debian): reads, the lock check and the upgrade here; the
// preview (apt-preview.ts) and the restore (apt-restore.ts) have their own files.
import { readFile } from 'node:fs/promises';
import type { StepContext } from '../drivers/driver.ts';
import { runCommand } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { Profile } from '../profiles/profile.ts';
import {
  ASSESSED_LISTS,
  type AssessedLists,
  type ListsReport,
  ROOT_LISTS,
  releaseDigests,
  seedLists,
  sinceAssessment,
} from './apt-lists.ts';
import { aptPreview } from './apt-preview.ts';
import { aptRestore } from './apt-restore.ts';
import { AptRoot, NONINTERACTIVE, readAptSources } from './apt-root.ts';
import type { ConfiguredRepo, InstalledPackage, LockState, PackageManager, UpgradePreview } from './package-manager.ts';

export { APT_CHANGE, NONINTERACTIVE, readAptSources, sourcesList } from './apt-root.ts';

export class AptPackageManager implements PackageManager {
  readonly name = 'apt' as const;
  readonly cacheDir = '/var/cache/apt/archives';
  readonly #a: AptRoot;

  /** @param trusted the repositories are unsigned mirrors ([trusted=yes]) */
  constructor(root: HostRoot, profile: Profile, opts: { trusted: boolean }) {
    this.#a = new AptRoot(root, profile, opts.trusted);
  }

  installed(): Promise<InstalledPackage[]> {
    return this.#a.installed();
  }

  repositories(): Promise<ConfiguredRepo[]> {
    return readAptSources(this.#a.root);
  }

  async lockState(): Promise<LockState> {
    // `apt-get check` takes the dpkg lock as an upgrade would; the caches are not written,
    // and no source is read (apt takes a path ending in /dev/null for none): the lock is the
    // question, and parsing the root's lists (tens of MB for a whole release) cost most of a second.
    const check = await this.#a.root.exec(
      [
        'apt-get',
        'check',
        '-q',
        '-o',
        'Dir::Cache::pkgcache=',
        '-o',
        'Dir::Cache::srcpkgcache=',
        '-o',
        'Dir::Etc::sourcelist=/dev/null',
        '-o',
        'Dir::Etc::sourceparts=/dev/null',
      ],
      { env: NONINTERACTIVE },
    );
    const locked = /Could not get lock|Unable to acquire the dpkg frontend lock|held by process/i.test(check.stderr + check.stdout);
    const audit = await runCommand(['dpkg', `--admindir=${this.#a.root.at('var/lib/dpkg')}`, '--audit']);
    const interrupted = audit.stdout.trim() !== '' || /dpkg was interrupted/i.test(check.stderr);
    const detail = [
      locked
        ? (check.stderr
            .trim()
            .split('\n')
            .find((l) => /lock/i.test(l)) ?? 'dpkg lock held')
        : '',
      interrupted ? audit.stdout.trim().split('\n')[0] : '',
    ]
      .filter(Boolean)
      .join('; ');
    return { locked, interrupted, detail };
  }

  preview(ctx: StepContext): Promise<UpgradePreview> {
    return aptPreview(this.#a, ctx);
  }

  async upgrade(ctx: StepContext, resume: boolean): Promise<{ transaction: string; lists: ListsReport }> {
    return this.#a.root.withMounts(() =>
      this.#a.withPolicyRc(async () => {
        if (resume) {
          ctx.log('resuming: finishing what dpkg left half done', 'agent');
          await this.#a.configurePending(ctx);
        }
        await this.#a.switchSources(this.#a.apt.repositories);
        ctx.progress(10, 'sources switched to the target release');
        const lists = await this.#updateLists(ctx);
        ctx.progress(20, 'package lists updated');
        if (resume) await this.#a.aptGet(ctx, ['-f', 'install']);
        // The Debian release notes' order: a minimal upgrade first, then the full one.
        await this.#a.aptGet(ctx, ['upgrade', '--without-new-pkgs']);
        ctx.progress(55, 'minimal upgrade done');
        await this.#a.aptGet(ctx, ['full-upgrade']);
        ctx.progress(95, 'full upgrade done');
        const history = await readFile(this.#a.root.at('var/log/apt/history.log'), 'utf8').catch(() => '');
        const last =
          history
            .trim()
            .split(/\n\s*\n/)
            .slice(-1)[0] ?? '';
        return { transaction: last.slice(0, 8000), lists };
      }),
    );
  }

  /**
   * `apt-get update` on the root, starting from the lists the assessment fetched when it
   * kept them (so only the Release files travel again), and whether the repositories
   * published anew since the assessment (apt then fetched the new indexes).
   */
  async #updateLists(ctx: StepContext): Promise<ListsReport> {
    const kept = ctx.runData.get<AssessedLists>(ASSESSED_LISTS);
    const log = (line: string): void => ctx.log(line, 'agent');
    const reused = kept ? await seedLists(this.#a.root, kept, log) : false;
    await this.#a.aptGet(ctx, ['update']);
    const since = sinceAssessment(kept?.releases, await releaseDigests(this.#a.root.at(ROOT_LISTS)));
    if (since === 'changed') log('the target repositories published new lists since the assessment: the upgrade uses the new ones');
    return { reused, sinceAssessment: since };
  }

  restore(manifest: InstalledPackage[], ctx: StepContext): Promise<void> {
    return aptRestore(this.#a, manifest, ctx);
  }
}
