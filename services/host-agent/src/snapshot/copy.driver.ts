// copy: a directory root on any file system, copied whole beside itself before the
// upgrade (`cp -a`: owners, modes, times, links, hard links, xattrs and ACLs;
// `--reflink=auto` shares the blocks where the file system can, btrfs and XFS) and
// swapped back in on rollback. Not for the running `/`: it cannot be swapped under itself.
import { existsSync } from 'node:fs';
import { mkdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { renameDurable } from '../os/durable-file.ts';
import { besideRoot, mountsBelow, swapRoot } from './root-swap.ts';
import {
  type Detection,
  mustRunOn,
  type RevertResult,
  RootSnapshotDriver,
  type SnapshotDriver,
  SnapshotError,
  type SnapshotRef,
} from './snapshot.driver.ts';

const MiB = 1024 * 1024;

/**
 * Whether a copy of `used` bytes fits in `free` bytes, leaving room for the upgrade's own
 * writes (the profile's space check covers those) and a margin. Pure. A reflink copy
 * would need far less, but whether blocks are shared is known only after copying.
 */
export function copyFits(used: number, free: number): { fits: boolean; need: number } {
  const need = Math.ceil(used * 1.05) + 64 * MiB;
  return { fits: free >= need, need };
}

export class CopySnapshotDriver extends RootSnapshotDriver implements SnapshotDriver {
  readonly name = 'copy' as const;
  async detect(): Promise<Detection> {
    const root = this.root.path;
    if (this.root.isHost) return { usable: false, detail: 'a copy can replace a directory root, not the running /' };
    if ((await this.port.run(['mountpoint', '-q', root])).code === 0)
      return { usable: false, detail: `${root} is a mount point: a copy cannot be swapped in at that path` };
    const du = await mustRunOn(this.port, ['du', '-sx', '--block-size=1', root]);
    const used = Number(du.stdout.split(/\s/)[0]);
    const fs = await statfs(path.dirname(root));
    const free = fs.bavail * fs.bsize;
    const { fits, need } = copyFits(used, free);
    const mib = (n: number): string => `${Math.round(n / MiB)} MiB`;
    if (!fits) return { usable: false, detail: `a copy of the root needs ${mib(need)} beside it, ${mib(free)} are free` };
    return { usable: true, detail: `a copy of the root (${mib(used)}) beside it before, swapped back on rollback; ${mib(free)} free` };
  }

  async take(runId: string): Promise<SnapshotRef> {
    const root = this.root.path;
    const dest = besideRoot(root, runId);
    const partial = `${dest}.partial`;
    const mounts = await mountsBelow(this.port, root);
    if (mounts.length > 0) throw new SnapshotError(`file systems are mounted inside ${root} (${mounts.join(', ')}); unmount them first`);
    await mkdir(path.dirname(dest), { recursive: true });
    // Copied under another name and renamed when whole: a copy at `dest` is complete.
    for (const p of [partial, dest]) if (existsSync(p)) await mustRunOn(this.port, ['rm', '-rf', '--one-file-system', p]);
    await mustRunOn(this.port, ['cp', '-a', '--one-file-system', '--reflink=auto', root, partial]);
    await mustRunOn(this.port, ['sync', '-f', partial]);
    await renameDurable(partial, dest);
    return { driver: 'copy', id: dest, facts: {} };
  }

  async revert(ref: SnapshotRef, opts: { resumed: boolean }): Promise<RevertResult> {
    const copy = ref.id;
    const notes = await swapRoot(this.port, this.root.path, {
      // The copy is moved in, not copied: once a revert has begun, a copy gone from beside
      // the root is the root. Before, a missing copy is a missing snapshot.
      reverted: async () => opts.resumed && !existsSync(copy),
      savedExists: async () => existsSync(copy),
      putIn: (rootPath) => renameDurable(copy, rootPath),
      removeFailed: async (failed) => void (await mustRunOn(this.port, ['rm', '-rf', '--one-file-system', failed])),
    });
    return { rebootRequired: false, notes };
  }

  async reverted(ref: SnapshotRef): Promise<boolean> {
    return !existsSync(ref.id) && existsSync(this.root.path);
  }
}
