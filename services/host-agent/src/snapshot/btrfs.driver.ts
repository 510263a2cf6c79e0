// btrfs: the root is a subvolume; a read-only snapshot of it is taken before the upgrade.
// A directory root (a chroot, a container's root) is reverted by a swap: the failed
// subvolume set aside, a writable snapshot of the saved one put at the root's path, the
// failed one deleted; exact by construction. A live `/` cannot be swapped under the
// running system: a writable snapshot of the saved one becomes the filesystem's default
// subvolume (`btrfs subvolume set-default`) and the next boot mounts it.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { parseSubvolumeList, parseSubvolumeShow, type SubvolumeFacts, setDefaultBlocker } from './btrfs-facts.ts';
import { besideRoot, swapRoot } from './root-swap.ts';
import {
  type Detection,
  mustRunOn,
  type RevertResult,
  RootSnapshotDriver,
  type SnapshotDriver,
  SnapshotError,
  SnapshotMissingError,
  type SnapshotRef,
} from './snapshot.driver.ts';

// The live root's snapshots are kept at the top level of its filesystem, outside any
// subvolume a rollback replaces.
const LIVE_DIR = '.yixing-snapshots';

export class BtrfsSnapshotDriver extends RootSnapshotDriver implements SnapshotDriver {
  readonly name = 'btrfs' as const;
  async #show(p: string): Promise<SubvolumeFacts | null> {
    const r = await this.port.run(['btrfs', 'subvolume', 'show', p]);
    return r.code === 0 ? parseSubvolumeShow(r.stdout) : null;
  }

  async detect(): Promise<Detection> {
    const root = this.root.path;
    const fsType = (await this.port.run(['stat', '-f', '-c', '%T', root])).stdout.trim();
    if (fsType !== 'btrfs') return { usable: false, detail: `the root is on ${fsType || 'an unknown file system'}, not btrfs` };
    if (!(await this.#show(root))) return { usable: false, detail: `${root} is on btrfs but is not a subvolume` };
    const nested = parseSubvolumeList((await this.port.run(['btrfs', 'subvolume', 'list', '-o', root])).stdout);
    if (nested.length > 0)
      return { usable: false, detail: `subvolumes nested in the root are not in its snapshot: ${nested.slice(0, 5).join(', ')}` };
    if (this.root.isHost) {
      const [cmdline, fstab] = await Promise.all([readFile('/proc/cmdline', 'utf8'), readFile('/etc/fstab', 'utf8').catch(() => '')]);
      const blocker = setDefaultBlocker(cmdline, fstab);
      if (blocker) return { usable: false, detail: `a rollback sets the default subvolume, but ${blocker}` };
      return { usable: true, detail: 'the root is a btrfs subvolume: snapshot before, set-default and reboot to roll back' };
    }
    if ((await this.port.run(['mountpoint', '-q', root])).code === 0)
      return { usable: false, detail: `${root} is a mount point: its subvolume cannot be swapped at that path` };
    return { usable: true, detail: 'the root is a btrfs subvolume: read-only snapshot before, swapped back on rollback' };
  }

  async take(runId: string): Promise<SnapshotRef> {
    if (this.root.isHost) return this.#withTopLevel((top) => this.#takeAt(path.join(top, LIVE_DIR), runId, top));
    return this.#takeAt(path.dirname(besideRoot(this.root.path, runId)), runId, null);
  }

  async #takeAt(dir: string, runId: string, top: string | null): Promise<SnapshotRef> {
    await mkdir(dir, { recursive: true });
    const dest = top ? path.join(dir, `root-${runId}`) : besideRoot(this.root.path, runId);
    // A snapshot is made whole or not at all; one left by a crash before the upgrade
    // began is of the same unchanged root, but is made again rather than trusted.
    if (existsSync(dest)) await mustRunOn(this.port, ['btrfs', 'subvolume', 'delete', dest]);
    await mustRunOn(this.port, ['btrfs', 'subvolume', 'snapshot', '-r', this.root.path, dest]);
    const facts = await this.#show(dest);
    if (!facts) throw new SnapshotError(`the snapshot ${dest} was made but btrfs does not show it`);
    return {
      driver: 'btrfs',
      id: top ? path.relative(top, dest) : dest,
      facts: { uuid: facts.uuid, mode: top ? 'live' : 'directory' },
    };
  }

  async revert(ref: SnapshotRef, _opts: { resumed: boolean }): Promise<RevertResult> {
    if (ref.facts.mode === 'live') return this.#withTopLevel((top) => this.#setDefault(top, ref));
    const saved = ref.id;
    const notes = await swapRoot(this.port, this.root.path, {
      reverted: async () => (await this.#show(this.root.path))?.parentUuid === ref.facts.uuid,
      savedExists: async () => (await this.#show(saved))?.uuid === ref.facts.uuid,
      putIn: async (rootPath) => void (await mustRunOn(this.port, ['btrfs', 'subvolume', 'snapshot', saved, rootPath])),
      removeFailed: async (failed) => void (await mustRunOn(this.port, ['btrfs', 'subvolume', 'delete', failed])),
    });
    return { rebootRequired: false, notes };
  }

  async #setDefault(top: string, ref: SnapshotRef): Promise<RevertResult> {
    const saved = path.join(top, ref.id);
    if ((await this.#show(saved))?.uuid !== ref.facts.uuid)
      throw new SnapshotMissingError(`the snapshot ${ref.id} is gone; nothing was changed`);
    const next = `${saved}-rollback`;
    let facts = await this.#show(next);
    if (!facts) {
      await mustRunOn(this.port, ['btrfs', 'subvolume', 'snapshot', saved, next]);
      facts = await this.#show(next);
    }
    if (!facts) throw new SnapshotError(`the writable snapshot ${next} was made but btrfs does not show it`);
    await mustRunOn(this.port, ['btrfs', 'subvolume', 'set-default', String(facts.id), top]);
    return {
      rebootRequired: true,
      notes: [`subvolume ${facts.id} (a writable copy of ${ref.id}) is the default: the next boot mounts it as /`],
    };
  }

  async reverted(ref: SnapshotRef): Promise<boolean> {
    return (await this.#show(this.root.path))?.parentUuid === ref.facts.uuid;
  }

  /** Mounts the top level (subvolume 5) of the live root's filesystem while `fn` runs. */
  async #withTopLevel<T>(fn: (top: string) => Promise<T>): Promise<T> {
    const uuid = (await mustRunOn(this.port, ['findmnt', '-n', '-o', 'UUID', '-T', this.root.path])).stdout.trim();
    if (!uuid) throw new SnapshotError(`findmnt names no file system UUID for ${this.root.path}`);
    const top = await mkdtemp('/run/yixing-btrfs-top-');
    try {
      await mustRunOn(this.port, ['mount', '-o', 'subvolid=5', `UUID=${uuid}`, top]);
      try {
        return await fn(top);
      } finally {
        await this.port.run(['umount', top]);
      }
    } finally {
      await rmdir(top).catch(() => undefined);
    }
  }
}
