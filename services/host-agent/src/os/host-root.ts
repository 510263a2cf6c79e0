// The root a migration works on: `/` on a real host, or a directory (a chroot, a
// container's root) so the real drivers are exercised for real in tests. Programs that
// must see the root as `/` run under chroot with /proc and /dev mounted for their time.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type CommandOptions, type CommandResult, mustRun, runCommand } from './command.ts';
import { type OsRelease, readOsRelease } from './os-release.ts';

export class HostRoot {
  readonly path: string;

  constructor(rootPath: string) {
    this.path = path.resolve(rootPath);
  }

  get isHost(): boolean {
    return this.path === '/';
  }

  /** A path inside the root. */
  at(p: string): string {
    return path.join(this.path, p);
  }

  exists(p: string): boolean {
    return existsSync(this.at(p));
  }

  osRelease(): Promise<OsRelease> {
    return readOsRelease(this.path);
  }

  #argv(argv: string[]): string[] {
    return this.isHost ? argv : ['chroot', this.path, ...argv];
  }

  /** Runs a program inside the root (under chroot unless the root is `/`). */
  exec(argv: string[], opts: CommandOptions = {}): Promise<CommandResult> {
    return runCommand(this.#argv(argv), opts);
  }

  mustExec(argv: string[], opts: CommandOptions = {}): Promise<CommandResult> {
    return mustRun(this.#argv(argv), opts);
  }

  /** Mounts /proc, /dev and /dev/pts in a chroot root while `fn` runs. */
  async withMounts<T>(fn: () => Promise<T>): Promise<T> {
    if (this.isHost) return fn();
    const done: string[] = [];
    try {
      for (const [what, where, opts] of [
        ['proc', 'proc', ['-t', 'proc']],
        ['/dev', 'dev', ['--bind']],
        ['/dev/pts', 'dev/pts', ['--bind']],
      ] as const) {
        const target = this.at(where);
        // A mount left by an interrupted run is reused, not stacked.
        const mounted = (await runCommand(['mountpoint', '-q', target])).code === 0;
        if (!mounted) {
          await mustRun(['mount', ...opts, what, target]);
          done.push(target);
        }
      }
      return await fn();
    } finally {
      for (const m of done.reverse()) await runCommand(['umount', '-l', m]);
    }
  }
}
