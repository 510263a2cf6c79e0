// Admission, as a pure function: which pending hosts of a plan to take now, within every
// limit docs/error-budget.md lists — the plan's windows and cut-off, its in-flight limit,
// the error budget of the plan and of each wave, the per-domain limits (across every live
// plan), and the quorum of each host's cluster. Within them, the longest predicted host
// first (duration-prediction.ts).
//
// It reads the plan's pending runs as queues (pending-queues.ts) and never walks them
// whole: a queue whose wave budget or failure domain is full is passed over at once, and
// of the others only the heads are ordered (a heap), so a tick costs the number of queues
// plus the runs it looks at to take, not the number of runs waiting.
import type { HostRunDoc } from '../db/models.ts';
import { budgetRoom, requiredHealthy } from '../plans/plan-math.ts';
import { mayStartAt } from '../plans/windows.ts';
import { BinaryHeap } from './binary-heap.ts';
import type { PendingQueue } from './pending-queues.ts';
import type { PlanRuntime } from './plan-runtime.ts';

export type Domain = 'cluster' | 'zone' | 'rack';

/** What admission reads of a live plan. */
export type AdmissionPlan = Pick<PlanRuntime, 'plan' | 'counters' | 'phases' | 'runs' | 'pendingQueues'>;

/** What admission reads of the fleet: hosts in flight in any live plan, domain members, heartbeats. */
export interface FleetView {
  isOccupied(hostId: string): boolean;
  members(domain: Domain, name: string): ReadonlySet<string>;
  isAlive(hostId: string): boolean;
  /** The roles the host's agent detected (none: no workloads). */
  rolesOf?(hostId: string): readonly string[];
  /** Hosts of the domain in flight in any live plan; without it, the domain's members are counted. */
  inFlightIn?(domain: Domain, name: string): number;
}

/**
 * The hosts whose quorum a host counts in: its cluster's members with the same detected
 * roles. A cluster mixing roles (ZooKeeper and HDFS datanodes, control plane and
 * Kubernetes workers) keeps a quorum of each, not of the whole. Pure.
 */
export function quorumGroup(
  members: ReadonlySet<string>,
  hostId: string,
  rolesOf: ((hostId: string) => readonly string[]) | undefined,
): ReadonlySet<string> {
  if (!rolesOf) return members;
  const key = roleKey(rolesOf(hostId));
  return new Set([...members].filter((m) => roleKey(rolesOf(m)) === key));
}

export const roleKey = (roles: readonly string[]): string => [...roles].sort().join(',');

export interface Admission {
  /** The pending runs to take, in take order. */
  take: HostRunDoc[];
}

const DOMAINS: readonly Domain[] = ['cluster', 'zone', 'rack'];

/** A queue's next run to look at this tick, ordered against the other queues' by `before`. */
interface Head {
  queue: PendingQueue;
  pos: number;
  priority: number;
  order: number;
}

/** Lower phases first, then the longest predicted, then the plan's order. */
const before = (a: Head, b: Head): boolean =>
  a.queue.phase !== b.queue.phase ? a.queue.phase < b.queue.phase : a.priority !== b.priority ? a.priority > b.priority : a.order < b.order;

/** The pending hosts of `rt` to take at `now`; hosts taken earlier in the list count against later ones. */
export function pickHosts(rt: AdmissionPlan, fleet: FleetView, now: number): Admission {
  const { plan, counters: c, pendingQueues: queues } = rt;
  const spec = plan.spec;
  const out: Admission = { take: [] };
  if (!mayStartAt(spec.windows, spec.windowCutoffMinutes, now)) return out;
  let room = Math.min(spec.limits.maxInFlight - c.inFlight, budgetRoom(plan.budget, c.failures, c.inFlightNotFailed));
  if (room <= 0) return out;
  // Hosts taken earlier in this tick are in flight too.
  const taken = new Set<string>();
  const occupied = (hostId: string): boolean => taken.has(hostId) || fleet.isOccupied(hostId);
  const limits = new Map(plan.domainLimits.map((l) => [`${l.domain}:${l.name}`, l.limit]));
  // Counted once per tick, on first use, then kept up to date with this tick's takes.
  const inFlight = new Map<string, number>();
  const inFlightOf = (d: Domain, name: string): number => {
    const key = `${d}:${name}`;
    let n = inFlight.get(key);
    if (n === undefined) {
      n = fleet.inFlightIn?.(d, name) ?? 0;
      if (!fleet.inFlightIn) for (const h of fleet.members(d, name)) if (occupied(h)) n++;
      inFlight.set(key, n);
    }
    return n;
  };
  const domainsHaveRoom = (q: PendingQueue): boolean =>
    DOMAINS.every((d) => inFlightOf(d, q[d]) < (limits.get(`${d}:${q[d]}`) ?? Number.POSITIVE_INFINITY));
  // Each quorum group's size and healthy members, counted once per tick on first use.
  const groups = new Map<string, { size: number; healthy: number }>();
  const groupOf = (hostId: string, cluster: string): string => `${cluster}|${roleKey(fleet.rolesOf?.(hostId) ?? [])}`;
  /** Healthy peers that must remain in the host's cluster (of its roles) for it to be taken. */
  const quorumAllows = (hostId: string, cluster: string): boolean => {
    if (cluster === '') return true;
    const key = groupOf(hostId, cluster);
    let g = groups.get(key);
    if (!g) {
      const members = quorumGroup(fleet.members('cluster', cluster), hostId, fleet.rolesOf?.bind(fleet));
      let count = 0;
      for (const m of members) if (!occupied(m) && fleet.isAlive(m)) count++;
      g = { size: members.size, healthy: count };
      groups.set(key, g);
    }
    const required = requiredHealthy(g.size, spec.clusterCheck.minHealthyPercent);
    if (required === 0) return true;
    const self = !occupied(hostId) && fleet.isAlive(hostId) ? 1 : 0;
    return g.healthy - self >= required;
  };
  // Takes of this tick in each phase, against the phase's budget.
  const takenInPhase = new Map<number, number>();
  const phaseHasRoom = (phase: number): boolean => {
    const ph = rt.phases[phase];
    return !ph || budgetRoom(ph.budget, ph.failed, ph.inFlightNotFailed + (takenInPhase.get(phase) ?? 0)) > 0;
  };
  const headFrom = (queue: PendingQueue, from: number): Head | undefined => {
    const pos = queues.nextPending(queue, from);
    if (pos < 0) return undefined;
    const key = queue.keys[pos] as string;
    return { queue, pos, priority: queues.priority(key), order: queues.orderOf(key) };
  };
  const heads = new BinaryHeap<Head>(before);
  for (const queue of queues.nonEmpty()) {
    if (queue.phase > plan.openPhase || !phaseHasRoom(queue.phase) || !domainsHaveRoom(queue)) continue;
    const head = headFrom(queue, 0);
    if (head) heads.push(head);
  }
  for (let head = heads.pop(); head && room > 0; head = heads.pop()) {
    const { queue } = head;
    // This tick's takes may have filled the queue's wave or domains since it was pushed.
    if (!phaseHasRoom(queue.phase) || !domainsHaveRoom(queue)) continue;
    const next = headFrom(queue, head.pos + 1);
    if (next) heads.push(next);
    const run = rt.runs.get(queue.keys[head.pos] as string);
    if (run?.state !== 'pending') continue;
    if (run.notBefore && run.notBefore.getTime() > now) continue;
    if (occupied(run.hostId)) continue;
    if (!quorumAllows(run.hostId, run.cluster)) continue;
    out.take.push(run);
    taken.add(run.hostId);
    room--;
    takenInPhase.set(run.phase, (takenInPhase.get(run.phase) ?? 0) + 1);
    for (const d of DOMAINS) inFlight.set(`${d}:${queue[d]}`, inFlightOf(d, queue[d]) + 1);
    const g = groups.get(groupOf(run.hostId, run.cluster));
    if (g && fleet.isAlive(run.hostId)) g.healthy--;
  }
  return out;
}
