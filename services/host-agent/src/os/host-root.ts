// The root a migration works on: `/` on a real host, or a directory (a chroot, a
// container's root) so the real drivers are exercised for real in tests. Programs that
// must see the root as `/` run under chroot with /proc and /dev mounted for their time.
import { constants, existsSync } from 'node:fs';
import { lstat, readlink, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { YxError } from '@yixing/common/base';
import { type CommandOptions, type CommandPort, type CommandResult, mustRun, mustRunOn, realCommands, runCommand } from './command.ts';
import { type OsRelease, readOsRelease } from './os-release.ts';

/** A write, removal or mount in a directory root that would land outside it (through a symlink). */
export class RootEscapeError extends YxError {
  readonly code = 'ROOT_PATH_ESCAPES';
  readonly retryable = false;
}

/** Whether `p` is `dir` or below it. Pure. */
export function isWithin(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

const missing = (err: NodeJS.ErrnoException): undefined => {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
};

export class HostRoot {
  readonly path: string;
  readonly #port: CommandPort;
  #real: string | undefined;

  constructor(rootPath: string, port: CommandPort = realCommands) {
    this.path = path.resolve(rootPath);
    this.#port = port;
  }

  get isHost(): boolean {
    return this.path === '/';
  }

  /** A path inside the root, for reading. Writes, removals and mounts go through safePath. */
  at(p: string): string {
    return path.join(this.path, p);
  }

  /**
   * The path to write, remove or mount at for `p` in the root, with the symlinks on its way
   * resolved; RootEscapeError (nothing done) when they lead outside the root. The agent
   * follows a symlink the way the host's kernel does, not the chroot's: an absolute link
   * (`dev -> /dev`, `sources.list -> /etc/shadow`) or `../..` reaches the host. A root's
   * own relative links (`sbin -> usr/sbin`) stay inside and are followed. `follow: false`
   * for an operation on the last component itself (rm and rename act on a link, not on
   * what it points to). A dangling link is refused: where it leads cannot be checked, and
   * writing through it creates its target. Checked, then used: a process inside the root
   * changing a link in between is not guarded against (node has no openat2 RESOLVE_IN_ROOT);
   * the agent makes these changes while nothing it started runs in the root.
   */
  async safePath(p: string, opts: { follow?: boolean } = {}): Promise<string> {
    const target = this.at(p);
    if (this.isHost) return target;
    if (!isWithin(this.path, target)) throw this.#escape(p, `${target} is outside the root`);
    this.#real ??= await realpath(this.path);
    const leaf = opts.follow === false && target !== this.path ? path.basename(target) : '';
    let existing = leaf ? path.dirname(target) : target;
    let rest = '';
    for (;;) {
      const real = await realpath(existing).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ELOOP') throw this.#escape(p, `the links at ${existing} loop`);
        return missing(err);
      });
      if (real !== undefined) {
        if (!isWithin(this.#real, real)) throw this.#escape(p, `${existing} leads to ${real}, outside the root`);
        return path.join(real, rest, leaf);
      }
      // The deepest part that exists is what the kernel follows; below it things are created.
      const link = await lstat(existing).catch(missing);
      if (link?.isSymbolicLink()) throw this.#escape(p, `${existing} is a symlink to ${await readlink(existing)}, which does not exist`);
      rest = path.join(path.basename(existing), rest);
      existing = path.dirname(existing);
    }
  }

  #escape(p: string, why: string): RootEscapeError {
    return new RootEscapeError(`refused to change ${p} in the root ${this.path}: ${why}`, { details: { root: this.path, path: p } });
  }

  /** Writes a file in the root (never through a symlink out of it, nor a link put there since). */
  async writeInside(p: string, data: string, opts: { mode?: number } = {}): Promise<void> {
    const file = await this.safePath(p);
    // O_NOFOLLOW: a symlink planted at the resolved path after the check is not written through.
    const flag = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (this.isHost ? 0 : constants.O_NOFOLLOW);
    await writeFile(file, data, { flag, ...(opts.mode === undefined ? {} : { mode: opts.mode }) });
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

  /**
   * Mounts /proc, /dev and /dev/pts in a chroot root while `fn` runs. mount follows
   * symlinks: each mount point is resolved inside the root first (a `<root>/dev` linked
   * to a host directory is refused, and what was mounted before it is unmounted).
   */
  async withMounts<T>(fn: () => Promise<T>): Promise<T> {
    if (this.isHost) return fn();
    const done: string[] = [];
    try {
      for (const [what, where, opts] of [
        ['proc', 'proc', ['-t', 'proc']],
        ['/dev', 'dev', ['--bind']],
        ['/dev/pts', 'dev/pts', ['--bind']],
      ] as const) {
        // Resolved after the mounts before it: dev/pts is checked in the mounted /dev.
        const target = await this.safePath(where);
        // A mount left by an interrupted run is reused, not stacked.
        const mounted = (await this.#port.run(['mountpoint', '-q', target])).code === 0;
        if (!mounted) {
          await mustRunOn(this.#port, ['mount', ...opts, what, target]);
          done.push(target);
        }
      }
      return await fn();
    } finally {
      for (const m of done.reverse()) await this.#port.run(['umount', '-l', m]);
    }
  }
}
