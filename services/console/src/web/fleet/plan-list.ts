// The fleet overview's data, pure: plan summaries as GET /v1/plans gives them, a live
// plan's row replaced by each `plan` snapshot its event stream sends, and the totals.

import type { PlanState, PlanSummary, PlanView } from '@yixing/scheduler';

export type { PlanState, PlanSummary };
export type PlanCounts = PlanSummary['counters'];

/** The plan states in the order the overview lists them (every one: checked below). */
export const PLAN_STATES = [
  'running',
  'waiting-approval',
  'paused',
  'budget-exhausted',
  'aborting',
  'completed',
  'aborted',
] as const satisfies readonly PlanState[];
// A state the scheduler adds and this list lacks fails the type check here.
const everyState: Exclude<PlanState, (typeof PLAN_STATES)[number]> extends never ? true : never = true;
void everyState;

/** The states in which a plan still changes (its event stream is worth following). */
export const LIVE_STATES: ReadonlySet<string> = new Set(['running', 'paused', 'waiting-approval', 'budget-exhausted', 'aborting']);

export interface PlanPage {
  items: PlanSummary[];
  nextCursor: string | null;
}

/**
 * The list with one plan's row updated from its `plan` event (a plan view: a summary's
 * fields and more); an unknown plan changes nothing.
 */
export function applyPlanSnapshot(plans: readonly PlanSummary[], view: PlanView): PlanSummary[] {
  return plans.map((p) => {
    if (p.id !== view.id) return p;
    const counters = { ...p.counters };
    for (const k of Object.keys(counters) as (keyof PlanCounts)[]) counters[k] = view.counters[k];
    const { name, state, stateReason, finishedAt, hostCount, openPhase, gate, budget, percentDone } = view;
    const phaseCount = view.phases.length;
    return { ...p, name, state, stateReason, finishedAt, hostCount, openPhase, gate, budget, percentDone, counters, phaseCount };
  });
}

/**
 * Where a plan's rollout is: in its canary (phase 0, before its waves) or in wave N of M
 * (the open phase); null for a plan without phases. A finished plan says where it stopped.
 */
export type WaveProgress = { phase: 'canary'; waves: number } | { phase: 'wave'; n: number; of: number } | null;

export function waveProgress(p: Pick<PlanSummary, 'openPhase' | 'phaseCount'>): WaveProgress {
  const waves = Math.max(0, p.phaseCount - 1);
  if (p.phaseCount <= 0) return null;
  if (p.openPhase <= 0) return { phase: 'canary', waves };
  return { phase: 'wave', n: Math.min(p.openPhase, waves), of: waves };
}

export interface FleetTotals {
  plansByState: Record<PlanState, number>;
  hosts: { total: number; succeeded: number; failed: number; inFlight: number; pending: number };
}

export function fleetTotals(plans: readonly PlanSummary[]): FleetTotals {
  const plansByState = Object.fromEntries(PLAN_STATES.map((s) => [s, 0])) as Record<PlanState, number>;
  const hosts = { total: 0, succeeded: 0, failed: 0, inFlight: 0, pending: 0 };
  for (const p of plans) {
    plansByState[p.state] = (plansByState[p.state] ?? 0) + 1;
    hosts.total += p.counters.total;
    hosts.succeeded += p.counters.succeeded;
    hosts.failed += p.counters.failed;
    hosts.inFlight += p.counters.inFlight;
    hosts.pending += p.counters.pending;
  }
  return { plansByState, hosts };
}

/** Which plans to follow live: those still changing, at most `max` (each is one open stream). */
export const plansToFollow = (plans: readonly PlanSummary[], max: number): string[] =>
  plans
    .filter((p) => LIVE_STATES.has(p.state))
    .slice(0, max)
    .map((p) => p.id);
