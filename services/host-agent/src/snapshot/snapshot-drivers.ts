// The snapshot drivers, in the order they are preferred: a btrfs snapshot or an LVM thin
// snapshot costs nothing up front; a copy costs the root's size and the time to write it.
import type { HostRoot } from '../os/host-root.ts';
import { BtrfsSnapshotDriver } from './btrfs.driver.ts';
import { CopySnapshotDriver } from './copy.driver.ts';
import { LvmThinSnapshotDriver } from './lvm-thin.driver.ts';
import { type CommandPort, realCommands, type SnapshotDriver, type SnapshotDriverName } from './snapshot.driver.ts';

export function snapshotDrivers(root: HostRoot, port: CommandPort = realCommands): SnapshotDriver[] {
  return [new BtrfsSnapshotDriver(root, port), new LvmThinSnapshotDriver(root, port), new CopySnapshotDriver(root, port)];
}

export function snapshotDriver(name: SnapshotDriverName, root: HostRoot, port: CommandPort = realCommands): SnapshotDriver {
  const d = snapshotDrivers(root, port).find((x) => x.name === name);
  if (!d) throw new Error(`no snapshot driver ${name}`);
  return d;
}
