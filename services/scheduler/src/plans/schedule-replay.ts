// The zero-overhead replay of a plan's policy: what the scheduler's own decisions make of
// given host durations when nothing else costs time. A discrete-event simulation drives the
// real admission (reconcile/admission.ts) and the real plan progression (plan-progress.ts:
// canary gate, soak, waves) with a simulated clock; a taken host starts at once and holds
// its slot for exactly its duration (no dispatch, no storage, no bus, no failures; a
// manual gate is approved the moment it is reached). The benchmark divides its measured
// makespan by this one to get the control plane's overhead.
//
// Beside it, the yardsticks computed from the same durations: the lower bound any
// scheduler meets, max(Σd ÷ C, max d), and what two common policies would take: a batch
// barrier (Ansible's `serial`: batches of C in the plan's order, each waiting for its
// slowest) and an exponential ramp (AWS SSM rate control: batches of 1, 2, 4, … up to C,
// each waiting for the one before).
import { YxError } from '@yixing/common';
import type { HostRunDoc, PhaseDoc, PlanDoc } from '../db/models.ts';
import { pendingRun } from '../host-runs/new-run.ts';
import { type Domain, type FleetView, pickHosts } from '../reconcile/admission.ts';
import { BinaryHeap } from '../reconcile/binary-heap.ts';
import { nextPlanStep } from '../reconcile/plan-progress.ts';
import { PlanRuntime } from '../reconcile/plan-runtime.ts';
import { domainAmounts, orderHosts, planPhases, resolveAmount } from './plan-math.ts';
import { type PlanInput, withDefaults } from './plan-spec.ts';

export interface ReplayHost {
  hostId: string;
  cluster: string;
  zone: string;
  rack: string;
  /** How long its migration holds its slot. */
  seconds: number;
  /** What the scheduler predicts for it (duration-prediction.ts); absent: nothing known. */
  predictedSeconds?: number;
}

export interface Replay {
  makespanSeconds: number;
  /** Most hosts in flight at once. */
  peakInFlight: number;
  /** Admission calls, and the hosts they took. */
  picks: number;
}

/** Durations a replay cannot take (none, negative, not numbers, a host twice). */
export class ReplayInputError extends YxError {
  readonly code = 'REPLAY_INPUT_INVALID';
  readonly retryable = false;
}

/** The policy left hosts that no event would ever start (a limit that resolves to nothing). */
export class ReplayStuckError extends YxError {
  readonly code = 'REPLAY_STUCK';
  readonly retryable = false;
}

function checkHosts(hosts: readonly ReplayHost[]): void {
  if (hosts.length === 0) throw new ReplayInputError('hosts: none to replay');
  const seen = new Set<string>();
  for (const [i, h] of hosts.entries()) {
    if (seen.has(h.hostId)) throw new ReplayInputError(`hosts[${i}].hostId: ${h.hostId} is listed twice`);
    seen.add(h.hostId);
    if (!(Number.isFinite(h.seconds) && h.seconds >= 0)) throw new ReplayInputError(`hosts[${i}].seconds: ${h.seconds} is not a duration`);
    const p = h.predictedSeconds;
    if (p !== undefined && !(Number.isFinite(p) && p >= 0))
      throw new ReplayInputError(`hosts[${i}].predictedSeconds: ${p} is not a duration`);
  }
}

const START = Date.UTC(2030, 0, 7);
const PLAN_ID = 'replay';

/** The plan the plan service would create for `hosts` under `input` (phases, budgets, domain limits, order). */
export function replayPlan(input: PlanInput, hosts: readonly ReplayHost[]): { plan: PlanDoc; runs: HostRunDoc[] } {
  const spec = withDefaults(input);
  const total = hosts.length;
  const budget = resolveAmount(spec.errorBudget.plan, total);
  const phases: PhaseDoc[] = planPhases(total, spec.canary, spec.waves).map((p) => ({
    ...p,
    budget: spec.errorBudget.wave ? resolveAmount(spec.errorBudget.wave, p.size) : budget,
  }));
  const domainLimits: PlanDoc['domainLimits'] = [];
  for (const [domain, amount] of domainAmounts(spec.limits)) {
    const members = new Map<string, number>();
    for (const h of hosts) members.set(h[domain], (members.get(h[domain]) ?? 0) + 1);
    for (const [name, n] of members) domainLimits.push({ domain, name, members: n, limit: Math.max(1, resolveAmount(amount, n)) });
  }
  const at = new Date(START);
  const plan: PlanDoc = {
    _id: PLAN_ID,
    name: spec.name,
    spec,
    state: 'running',
    stateReason: 'replay',
    abortMode: null,
    phases,
    openPhase: 0,
    gate: null,
    budget,
    domainLimits,
    hostCount: total,
    createdAt: at,
    updatedAt: at,
    finishedAt: null,
    createdBy: 'replay',
    version: 0,
  };
  let phase = 0;
  let left = phases[0]?.size ?? 0;
  const runs = orderHosts(PLAN_ID, [...hosts]).map((h, order) => {
    while (left === 0) left = phases[++phase]?.size ?? Number.POSITIVE_INFINITY;
    left--;
    return pendingRun({ planId: PLAN_ID, hostId: h.hostId, order, phase, cluster: h.cluster, zone: h.zone, rack: h.rack });
  });
  return { plan, runs };
}

/** Replays `input` on `hosts`: the makespan the policy alone gives (no overhead, no failures). */
export function replaySchedule(input: PlanInput, hosts: readonly ReplayHost[]): Replay {
  checkHosts(hosts);
  const { plan, runs } = replayPlan(input, hosts);
  const rt = new PlanRuntime(plan, runs);
  const byId = new Map(hosts.map((h) => [h.hostId, h]));
  rt.pendingQueues.predictWith((run) => byId.get(run.hostId)?.predictedSeconds, rt.runs.values());
  const members = new Map<string, Set<string>>();
  for (const h of hosts)
    for (const d of ['cluster', 'zone', 'rack'] as const) {
      const key = `${d}:${h[d]}`;
      members.set(key, (members.get(key) ?? new Set()).add(h.hostId));
    }
  const inFlight = new Set<string>();
  const fleet: FleetView = {
    isOccupied: (hostId) => inFlight.has(hostId),
    members: (d, name) => members.get(`${d}:${name}`) ?? new Set(),
    isAlive: () => true,
    inFlightIn: (d: Domain, name) => rt.inFlightByDomain.get(`${d}:${name}`) ?? 0,
  };
  // Ends of runs in flight, and wake-ups (a soak's end), soonest first.
  const events = new BinaryHeap<{ at: number; key: string | null }>((a, b) => a.at < b.at);
  let now = START;
  let seq = 0;
  let peak = 0;
  let picks = 0;
  for (;;) {
    // The plan's own steps (a wave opened, a gate reached or passed) until none is left.
    for (let step = nextPlanStep(rt, now, false); step.kind !== 'none'; step = nextPlanStep(rt, now, false)) {
      if (step.kind === 'state' && step.state === 'waiting-approval') {
        rt.plan = { ...rt.plan, state: 'running', openPhase: step.changes?.gate?.phase ?? rt.plan.openPhase + 1, gate: null };
        continue;
      }
      rt.plan = { ...rt.plan, ...(step.kind === 'state' ? { state: step.state } : {}), ...step.changes };
      if (rt.plan.gate?.soakUntil) events.push({ at: rt.plan.gate.soakUntil.getTime(), key: null });
      if (step.kind === 'state') break;
    }
    if (rt.plan.state !== 'running') break;
    const { take } = pickHosts(rt, fleet, now);
    if (take.length > 0) picks++;
    for (const run of take) {
      const d = byId.get(run.hostId)?.seconds ?? 0;
      seq++;
      rt.replace({ ...run, state: 'active', slots: [{ takenSeq: seq, takenAt: new Date(now), releasedSeq: null, releasedAt: null }] });
      inFlight.add(run.hostId);
      events.push({ at: now + d * 1000, key: run._id });
    }
    peak = Math.max(peak, rt.counters.inFlight);
    const next = events.peek();
    if (!next) break;
    now = next.at;
    // Everything that ends at this instant, then one admission.
    while (events.peek()?.at === now) {
      const { key } = events.pop() as { key: string | null };
      if (key === null) continue;
      const run = rt.run(key);
      const slot = run.slots.at(-1);
      seq++;
      const slots = slot ? [{ ...slot, releasedSeq: seq, releasedAt: new Date(now) }] : [];
      rt.replace({ ...run, state: 'succeeded', slots });
      inFlight.delete(run.hostId);
    }
  }
  if (rt.counters.succeeded !== hosts.length)
    throw new ReplayStuckError(
      `replay stopped with ${hosts.length - rt.counters.succeeded} of ${hosts.length} hosts not done (plan ${rt.plan.state})`,
    );
  return { makespanSeconds: (now - START) / 1000, peakInFlight: peak, picks };
}

/** max(Σd ÷ C, max d): no schedule of these durations on C slots ends sooner. */
export function lowerBoundSeconds(seconds: readonly number[], slots: number): number {
  let total = 0;
  let longest = 0;
  for (const d of seconds) {
    total += d;
    longest = Math.max(longest, d);
  }
  return Math.max(total / slots, longest);
}

/**
 * The lower bound under the plan's canary gate, which no schedule of the policy beats: the
 * canary alone, its soak, then the rest (each max(Σd ÷ C, max d), C the plan's maxInFlight).
 */
export function gatedLowerBoundSeconds(input: PlanInput, hosts: readonly ReplayHost[]): number {
  checkHosts(hosts);
  const { plan, runs } = replayPlan(input, hosts);
  const slots = plan.spec.limits.maxInFlight;
  const seconds = new Map(hosts.map((h) => [h.hostId, h.seconds]));
  const of = (canary: boolean): number[] => runs.filter((r) => (r.phase === 0) === canary).map((r) => seconds.get(r.hostId) ?? 0);
  const all = hosts.map((h) => h.seconds);
  if (plan.phases.length < 2) return lowerBoundSeconds(all, slots);
  const promotion = plan.spec.promotion;
  const soak = promotion.mode === 'auto' ? promotion.soakSeconds : 0;
  return lowerBoundSeconds(of(true), slots) + soak + lowerBoundSeconds(of(false), slots);
}

/** Batches of the given sizes in order (the last size repeating), each waiting for the slowest of the one before. */
function batched(seconds: readonly number[], sizeOf: (batch: number) => number): number {
  let total = 0;
  for (let i = 0, batch = 0; i < seconds.length; batch++) {
    const end = Math.min(seconds.length, i + Math.max(1, sizeOf(batch)));
    let slowest = 0;
    for (; i < end; i++) slowest = Math.max(slowest, seconds[i] as number);
    total += slowest;
  }
  return total;
}

/** Ansible `serial: C`: batches of C hosts in order, each batch waiting for its slowest host. */
export function batchBarrierSeconds(seconds: readonly number[], slots: number): number {
  return batched(seconds, () => slots);
}

/** AWS SSM rate control ramping up: batches of 1, 2, 4, … up to C, each waiting for the one before. */
export function exponentialRampSeconds(seconds: readonly number[], slots: number): number {
  return batched(seconds, (batch) => Math.min(slots, 2 ** Math.min(batch, 30)));
}
