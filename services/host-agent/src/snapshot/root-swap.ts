// Reverting a directory root by swapping: the failed root set aside, the saved one put at
// its path, the failed one removed. Each action is one rename or one tool call, and which
// are left to do is read from the file system, so a revert killed part-way and run again
// finishes instead of starting over.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fsyncDir, renameDurable } from '../os/durable-file.ts';
import { type CommandPort, mustRunOn, SnapshotError, SnapshotMissingError } from './snapshot.driver.ts';

export type SwapAction = 'set-aside' | 'put-in' | 'remove-failed';

export interface SwapState {
  /** Something is at the root's path. */
  root: boolean;
  /** The failed root is set aside at its own path. */
  failed: boolean;
  /** What is at the root's path is the saved root (the revert's result). */
  reverted: boolean;
}

/** The actions left, in order. Pure. */
export function swapActions(s: SwapState): SwapAction[] {
  if (!s.root) return s.failed ? ['put-in', 'remove-failed'] : ['put-in'];
  if (s.reverted) return s.failed ? ['remove-failed'] : [];
  // A failed root left by an earlier rollback whose clean-up failed goes first.
  return s.failed ? ['remove-failed', 'set-aside', 'put-in', 'remove-failed'] : ['set-aside', 'put-in', 'remove-failed'];
}

/** Where a directory root's snapshot or copy is kept: beside the root, on its file system. */
export function besideRoot(rootPath: string, runId: string): string {
  return path.join(path.dirname(rootPath), '.yixing-snapshots', `${path.basename(rootPath)}-${runId}`);
}

export const failedRootPath = (rootPath: string): string => `${rootPath}.yixing-failed`;

/** File systems mounted below the root: a swap or a copy must not carry them along. */
export async function mountsBelow(port: CommandPort, rootPath: string): Promise<string[]> {
  const r = await mustRunOn(port, ['findmnt', '-rn', '-o', 'TARGET']);
  const prefix = `${rootPath.replace(/\/+$/, '')}/`;
  // findmnt escapes spaces and the like as \x20; the prefix test needs no unescaping.
  return r.stdout
    .split('\n')
    .filter((t) => t.startsWith(prefix))
    .sort();
}

export interface SwapSteps {
  /** Whether the root's path already holds the saved root. */
  reverted(): Promise<boolean>;
  /** Whether the saved root is still there to be put in. */
  savedExists(): Promise<boolean>;
  /** Puts the saved root at the root's path (which is free). */
  putIn(rootPath: string): Promise<void>;
  removeFailed(failedPath: string): Promise<void>;
}

/** Runs the swap's remaining actions; returns what it did, for the log. */
export async function swapRoot(port: CommandPort, rootPath: string, steps: SwapSteps): Promise<string[]> {
  const failed = failedRootPath(rootPath);
  const rootThere = existsSync(rootPath);
  const actions = swapActions({ root: rootThere, failed: existsSync(failed), reverted: rootThere && (await steps.reverted()) });
  if (actions.includes('put-in') && !(await steps.savedExists())) {
    if (rootThere) throw new SnapshotMissingError(`the saved root for ${rootPath} is gone; the root was not touched`);
    throw new SnapshotError(`${rootPath} is set aside at ${failed} and the saved root is gone: put ${failed} back by hand`);
  }
  if (actions.includes('set-aside')) {
    const mounts = await mountsBelow(port, rootPath);
    if (mounts.length > 0)
      throw new SnapshotError(`file systems are mounted inside ${rootPath} (${mounts.join(', ')}); unmount them first`);
  }
  const done: string[] = [];
  for (const action of actions) {
    if (action === 'set-aside') {
      await renameDurable(rootPath, failed);
      done.push(`the failed root set aside at ${failed}`);
    } else if (action === 'put-in') {
      await steps.putIn(rootPath);
      await fsyncDir(path.dirname(rootPath));
      done.push(`the saved root put at ${rootPath}`);
    } else {
      try {
        await steps.removeFailed(failed);
        done.push(`the failed root ${failed} removed`);
      } catch (err) {
        // The root is already the saved one: a failed root left behind costs space, not correctness.
        done.push(`the failed root could not be removed and is left at ${failed}: ${(err as Error).message}`);
      }
    }
  }
  return done;
}
