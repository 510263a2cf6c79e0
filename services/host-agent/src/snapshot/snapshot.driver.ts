// A snapshot of a root taken right before the upgrade and reverted on rollback, whatever
// keeps it: a btrfs subvolume snapshot, an LVM thin snapshot, or a copy of a directory
// root. One interface, so the rollback step does not care which.
import { YxError } from '@yixing/common/base';
import type { CommandPort } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';

export type SnapshotDriverName = 'btrfs' | 'lvm-thin' | 'copy';

/** What a driver needs to find and revert its snapshot later, recorded in the run. */
export interface SnapshotRef {
  driver: SnapshotDriverName;
  /** The snapshot's name as its tool knows it (subvolume path, vg/lv, copy directory). */
  id: string;
  /** Facts the revert checks against (a subvolume's UUID, the origin LV). */
  facts: Record<string, string>;
}

export interface Detection {
  usable: boolean;
  /** Why it can or cannot serve this root, in words for the assessment. */
  detail: string;
}

export interface RevertResult {
  /** A live root is reverted on the next boot: the host must reboot before it is verified. */
  rebootRequired: boolean;
  notes: string[];
}

export interface SnapshotDriver {
  readonly name: SnapshotDriverName;
  /** Whether this driver can snapshot the root; reads only. */
  detect(): Promise<Detection>;
  /** Takes the snapshot; a partial one left by a crash under the same run is replaced. */
  take(runId: string): Promise<SnapshotRef>;
  /**
   * Puts the root back to the snapshot; run again after a crash part-way (`resumed`: a
   * revert of this snapshot began before), it finishes what is left.
   */
  revert(ref: SnapshotRef, opts: { resumed: boolean }): Promise<RevertResult>;
  /** After a reboot requested by revert: whether the running root is the reverted one. */
  reverted(ref: SnapshotRef): Promise<boolean>;
}

// How drivers start programs (the real runner, or a recording one in unit tests): the
// port every root operation uses, defined beside runCommand.
export { type CommandPort, mustRunOn, realCommands } from '../os/command.ts';

/** What every driver is built from: the root it serves and how it starts programs. */
export abstract class RootSnapshotDriver {
  protected readonly root: HostRoot;
  protected readonly port: CommandPort;

  constructor(root: HostRoot, port: CommandPort) {
    this.root = root;
    this.port = port;
  }
}

/** The snapshot cannot be taken or reverted; nothing is claimed about the root beyond the message. */
export class SnapshotError extends YxError {
  readonly code = 'SNAPSHOT_FAILED';
  readonly retryable = false;
}

/** The snapshot the run recorded is gone before anything was reverted: the root is untouched. */
export class SnapshotMissingError extends YxError {
  readonly code = 'SNAPSHOT_MISSING';
  readonly retryable = false;
}
