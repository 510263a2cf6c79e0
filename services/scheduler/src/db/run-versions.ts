// Which stored version of a run counts. A leader writes a run's next version and then
// commits it with a ticket: a document keyed by the plan and a per-plan sequence number
// (`${planId}#${seq}`), inserted once for every batch of versions written together. The
// insert of a ticket is the compare-and-swap FerretDB v1 gives (a unique _id); a leader
// that takes over first inserts a fence ticket at the next free number of each live plan,
// so the deposed leader's next ticket is refused, and any ticket it wrote past the fence
// does not count. A version counts when it has no ticket (a plan's first versions, written
// with the plan), or its ticket is there, of its own epoch, not a fence, and no fence
// below it was written by a later epoch. Pure: run-store.ts reads, this decides.

/** A run version's commit fields. */
export interface VersionCommit {
  key: string;
  version: number;
  /** The writer's lease epoch (0: a scheduler without a lease). */
  epoch?: number | null;
  /** The sequence number of its plan's ticket; absent: committed when written. */
  ticket?: number | null;
}

export interface TicketDoc {
  /** `${planId}#${seq}`. */
  _id: string;
  planId: string;
  seq: number;
  epoch: number;
  /** Written by a leader taking over: no version refers to it, and later epochs' fences void earlier epochs' later tickets. */
  fence: boolean;
  at: Date;
}

export const ticketId = (planId: string, seq: number): string => `${planId}#${seq}`;

/** Does a version count, given its plan's ticket (if found) and fences? */
export function isCommitted(v: VersionCommit, ticket: TicketDoc | undefined, fences: readonly TicketDoc[]): boolean {
  if (v.ticket === undefined || v.ticket === null) return true;
  if (!ticket || ticket.fence || ticket.epoch !== (v.epoch ?? 0)) return false;
  return !fences.some((f) => f.seq < ticket.seq && f.epoch > ticket.epoch);
}

export interface Resolved<T> {
  /** The latest version that counts (absent: none does). */
  doc: T | undefined;
  /** The highest version number stored, counted or not: the next write follows it. */
  top: number;
}

/** The latest counted version of each key. `committed` decides one version. */
export function latestCommitted<T extends VersionCommit>(versions: Iterable<T>, committed: (v: T) => boolean): Map<string, Resolved<T>> {
  const byKey = new Map<string, T[]>();
  for (const v of versions) {
    const list = byKey.get(v.key);
    if (list) list.push(v);
    else byKey.set(v.key, [v]);
  }
  const out = new Map<string, Resolved<T>>();
  for (const [key, list] of byKey) {
    list.sort((a, b) => b.version - a.version);
    out.set(key, { doc: list.find(committed), top: list[0]?.version ?? 0 });
  }
  return out;
}

/** The tickets a set of versions refers to (their ids), for one lookup. */
export function ticketRefs(versions: Iterable<VersionCommit & { planId: string }>): string[] {
  const ids = new Set<string>();
  for (const v of versions) if (v.ticket !== undefined && v.ticket !== null) ids.add(ticketId(v.planId, v.ticket));
  return [...ids];
}
