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
import type { HostRunDoc, PlanDoc } from '../db/models.ts';
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

/** The plan's per-domain limits by `${domain}:${name}`, built once per plan document's list. */
const limitMaps = new WeakMap<PlanDoc['domainLimits'], Map<string, number>>();
function limitsOf(domainLimits: PlanDoc['domainLimits']): Map<string, number> {
  let m = limitMaps.get(domainLimits);
  if (!m) {
    m = new Map();
    // The first of two limits on one domain holds, as the plan lists them.
    for (const l of domainLimits) if (!m.has(`${l.domain}:${l.name}`)) m.set(`${l.domain}:${l.name}`, l.limit);
    limitMaps.set(domainLimits, m);
  }
  return m;
}

/** A queue's next run to look at this tick, ordered against the other queues' by `before`. */
interface Head {
  queue: PendingQueue;
  pos: number;
  priority: number;
  order: number;
}

/** Lower phases first, then the longest predicted, then the plan's order (as pending-queues.ts orders queues). */
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
  const limits = limitsOf(plan.domainLimits);
  // Counted once per tick, on first use, then kept up to date with this tick's takes.
  const inFlight = new Map<string, number>();
  const inFlightOf = (key: string, d: Domain, name: string): number => {
    let n = inFlight.get(key);
    if (n === undefined) {
      n = fleet.inFlightIn?.(d, name) ?? 0;
      if (!fleet.inFlightIn) for (const h of fleet.members(d, name)) if (occupied(h)) n++;
      inFlight.set(key, n);
    }
    return n;
  };
  const domainsHaveRoom = (q: PendingQueue): boolean =>
    inFlightOf(q.domainKeys[0], 'cluster', q.cluster) < (limits.get(q.domainKeys[0]) ?? Number.POSITIVE_INFINITY) &&
    inFlightOf(q.domainKeys[1], 'zone', q.zone) < (limits.get(q.domainKeys[1]) ?? Number.POSITIVE_INFINITY) &&
    inFlightOf(q.domainKeys[2], 'rack', q.rack) < (limits.get(q.domainKeys[2]) ?? Number.POSITIVE_INFINITY);
  // Each quorum group's size, healthy members and dead ones not in flight, counted once per
  // tick on first use; `whole`: the group is its whole cluster (every member of the same roles).
  const groups = new Map<string, { size: number; healthy: number; dead: number; whole: boolean }>();
  const groupOf = (hostId: string, cluster: string): string => `${cluster}|${roleKey(fleet.rolesOf?.(hostId) ?? [])}`;
  /** Clusters of which nothing more may be taken this tick (their queues are passed over whole). */
  const closed = new Set<string>();
  /** Healthy peers that must remain in the host's cluster (of its roles) for it to be taken. */
  const quorumAllows = (hostId: string, cluster: string): boolean => {
    if (cluster === '' || spec.clusterCheck.minHealthyPercent <= 0) return true;
    const key = groupOf(hostId, cluster);
    let g = groups.get(key);
    if (!g) {
      const all = fleet.members('cluster', cluster);
      const members = quorumGroup(all, hostId, fleet.rolesOf?.bind(fleet));
      let healthy = 0;
      let dead = 0;
      for (const m of members)
        if (occupied(m)) continue;
        else if (fleet.isAlive(m)) healthy++;
        else dead++;
      g = { size: members.size, healthy, dead, whole: members.size === all.size };
      groups.set(key, g);
    }
    const required = requiredHealthy(g.size, spec.clusterCheck.minHealthyPercent);
    if (required === 0) return true;
    const alive = !occupied(hostId) && fleet.isAlive(hostId);
    if (g.healthy - (alive ? 1 : 0) >= required) return true;
    // A live host refused: no other live one of the group may go this tick, and a dead one
    // only while the group is at its quorum exactly; with none dead, the cluster is done.
    if (alive && g.whole && (g.healthy < required || g.dead === 0)) closed.add(cluster);
    return false;
  };
  // Takes of this tick in each phase, against the phase's budget.
  const takenInPhase = new Map<number, number>();
  const phaseHasRoom = (phase: number): boolean => {
    const ph = rt.phases[phase];
    return !ph || budgetRoom(ph.budget, ph.failed, ph.inFlightNotFailed + (takenInPhase.get(phase) ?? 0)) > 0;
  };
  // Queues are read by their heads, lowest phase and longest first (pending-queues.ts);
  // a queue taken from this tick comes back with its next run, in `more`.
  const more = new BinaryHeap<Head>(before);
  const byHead = queues.byHead(now)[Symbol.iterator]();
  let unread = byHead.next();
  while (room > 0) {
    const q = unread.done || unread.value.phase > plan.openPhase ? undefined : unread.value;
    const read = q && { queue: q, pos: q.head, priority: q.headPriority, order: q.headOrder };
    const top = more.peek();
    const head = read && (!top || before(read, top)) ? read : more.pop();
    if (!head) break;
    if (head === read) unread = byHead.next();
    const { queue } = head;
    // The queue's wave, domains or cluster quorum may be full (or filled by this tick's takes).
    if (!phaseHasRoom(queue.phase) || !domainsHaveRoom(queue) || closed.has(queue.cluster)) continue;
    const pos = queues.nextPending(queue, head.pos + 1);
    if (pos >= 0) {
      const key = queue.keys[pos] as string;
      more.push({ queue, pos, priority: queues.priority(key), order: queues.orderOf(key) });
    }
    const run = rt.runs.get(queue.keys[head.pos] as string);
    if (run?.state !== 'pending') continue;
    if (run.notBefore && run.notBefore.getTime() > now) continue;
    if (occupied(run.hostId)) continue;
    if (!quorumAllows(run.hostId, run.cluster)) continue;
    out.take.push(run);
    taken.add(run.hostId);
    room--;
    takenInPhase.set(run.phase, (takenInPhase.get(run.phase) ?? 0) + 1);
    DOMAINS.forEach((d, i) => {
      const key = queue.domainKeys[i] as string;
      inFlight.set(key, inFlightOf(key, d, queue[d]) + 1);
    });
    const g = groups.get(groupOf(run.hostId, run.cluster));
    if (g && fleet.isAlive(run.hostId)) g.healthy--;
    else if (g) g.dead--;
  }
  return out;
}
