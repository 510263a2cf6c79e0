// Fencing on the agent's side: a command carries the epoch of the scheduler leader that
// sent it (its lease), and the agent remembers the highest it has seen. A command from a
// lower epoch comes from a deposed leader that has not noticed yet (a paused process): it
// is refused, so it cannot start, cancel or repeat anything the new leader decided. Pure.

export type EpochVerdict = { accept: true; seen: number; raised: boolean } | { accept: false; seen: number; reason: string };

/** `seen`: the highest epoch this agent has accepted (0: none yet). */
export function admitEpoch(seen: number, epoch: number): EpochVerdict {
  if (epoch < seen) return { accept: false, seen, reason: `from a deposed scheduler leader (epoch ${epoch}; epoch ${seen} leads)` };
  return { accept: true, seen: Math.max(seen, epoch), raised: epoch > seen };
}
