// What the engine and the API ask of leadership (common's LeaderLease, or a scheduler
// running alone): may this replica act, and with which fencing epoch.
export interface Leader {
  /** True while this replica may act (write, send commands). */
  isLeader(): boolean;
  /** The fencing epoch every write and command carries; throws NotLeaderError when not the leader. */
  epoch(): number;
  /** Who leads, as this replica last saw it: followers point writers there. */
  leaderHint(): { leader?: string; url?: string };
}

/** A scheduler without a lease (one process, tests): always the leader, epoch 0. */
export const soleLeader: Leader = { isLeader: () => true, epoch: () => 0, leaderHint: () => ({}) };
