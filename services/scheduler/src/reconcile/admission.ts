// Admission, as a pure function: which pending hosts of a plan to take now, within every
// limit docs/error-budget.md lists — the plan's windows and cut-off, its in-flight limit,
// the error budget of the plan and of each wave, the per-domain limits (across every live
// plan), and the quorum of each host's cluster.
import type { HostRunDoc } from '../db/models.ts';
import { budgetRoom, requiredHealthy } from '../plans/plan-math.ts';
import { mayStartAt } from '../plans/windows.ts';
import type { PlanRuntime } from './plan-runtime.ts';

export type Domain = 'cluster' | 'zone' | 'rack';

/** What admission reads of a live plan. */
export type AdmissionPlan = Pick<PlanRuntime, 'plan' | 'counters' | 'phases' | 'order' | 'runs' | 'pendingCursor'>;

/** What admission reads of the fleet: hosts in flight in any live plan, domain members, heartbeats. */
export interface FleetView {
  isOccupied(hostId: string): boolean;
  members(domain: Domain, name: string): ReadonlySet<string>;
  isAlive(hostId: string): boolean;
  /** The roles the host's agent detected (none: no workloads). */
  rolesOf?(hostId: string): readonly string[];
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
  /** Index in the plan's order before which no run is pending (unchanged when unknown). */
  pendingCursor: number;
}

const DOMAINS: readonly Domain[] = ['cluster', 'zone', 'rack'];

/** The pending hosts of `rt` to take at `now`; hosts taken earlier in the list count against later ones. */
export function pickHosts(rt: AdmissionPlan, fleet: FleetView, now: number): Admission {
  const { plan, counters: c } = rt;
  const spec = plan.spec;
  const out: Admission = { take: [], pendingCursor: rt.pendingCursor };
  if (!mayStartAt(spec.windows, spec.windowCutoffMinutes, now)) return out;
  let room = Math.min(spec.limits.maxInFlight - c.inFlight, budgetRoom(plan.budget, c.failures, c.inFlightNotFailed));
  if (room <= 0) return out;
  // Hosts taken earlier in this tick are in flight too.
  const taken = new Set<string>();
  const occupied = (hostId: string): boolean => taken.has(hostId) || fleet.isOccupied(hostId);
  const limitOf = (d: Domain, name: string): number =>
    plan.domainLimits.find((l) => l.domain === d && l.name === name)?.limit ?? Number.POSITIVE_INFINITY;
  // Counted once per tick, on first use, then kept up to date with this tick's takes.
  const inFlight = new Map<string, number>();
  const inFlightOf = (d: Domain, name: string): number => {
    const key = `${d}:${name}`;
    let n = inFlight.get(key);
    if (n === undefined) {
      n = 0;
      for (const h of fleet.members(d, name)) if (occupied(h)) n++;
      inFlight.set(key, n);
    }
    return n;
  };
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
  let sawPending = false;
  for (let i = rt.pendingCursor; i < rt.order.length && room > 0; i++) {
    const run = rt.runs.get(rt.order[i] ?? '');
    if (run?.state !== 'pending') {
      if (!sawPending) out.pendingCursor = i + 1;
      continue;
    }
    sawPending = true;
    if (run.phase > plan.openPhase) break;
    if (run.notBefore && run.notBefore.getTime() > now) continue;
    const ph = rt.phases[run.phase];
    const phaseTaken = takenInPhase.get(run.phase) ?? 0;
    if (ph && budgetRoom(ph.budget, ph.failed, ph.inFlightNotFailed + phaseTaken) <= 0) continue;
    if (occupied(run.hostId)) continue;
    const names = { cluster: run.cluster, zone: run.zone, rack: run.rack };
    if (DOMAINS.some((d) => inFlightOf(d, names[d]) >= limitOf(d, names[d]))) continue;
    if (!quorumAllows(run.hostId, run.cluster)) continue;
    out.take.push(run);
    taken.add(run.hostId);
    room--;
    takenInPhase.set(run.phase, phaseTaken + 1);
    for (const d of DOMAINS) inFlight.set(`${d}:${names[d]}`, inFlightOf(d, names[d]) + 1);
    const g = groups.get(groupOf(run.hostId, run.cluster));
    if (g && fleet.isAlive(run.hostId)) g.healthy--;
  }
  return out;
}
