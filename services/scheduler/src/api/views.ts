// What the API shows of plans and host-runs: the stored documents plus live progress.
import type { StepName } from '@yixing/common';
import type { HostRunDoc, PlanDoc } from '../db/models.ts';
import { MIGRATION_STEPS } from '../host-runs/transitions.ts';
import { type PhaseCounters, type PlanCounters, PlanRuntime } from '../reconcile/plan-runtime.ts';

export interface PlanView {
  id: string;
  name: string;
  state: PlanDoc['state'];
  stateReason: string;
  createdAt: string;
  createdBy: string;
  finishedAt: string | null;
  profile: string;
  hostCount: number;
  openPhase: number;
  gate: PlanDoc['gate'];
  phases: {
    index: number;
    name: string;
    size: number;
    budget: number;
    started: number;
    final: number;
    failed: number;
    inFlight: number;
    /** The phase's runs by state. */
    states: PhaseCounters['states'];
  }[];
  budget: { limit: number; used: number; remaining: number };
  counters: PlanCounters;
  /** Hosts in a final state, in percent. */
  percentDone: number;
  spec: PlanDoc['spec'];
  version: number;
}

/** The plan fields a header reads: the spec is needed for its profile only. */
export type PlanHeaderDoc = Pick<
  PlanDoc,
  '_id' | 'name' | 'state' | 'stateReason' | 'createdAt' | 'createdBy' | 'finishedAt' | 'hostCount' | 'openPhase' | 'gate' | 'budget'
> & { spec?: { profile?: string } };

type HeaderCounts = Pick<PlanCounters, 'total' | 'succeeded' | 'failed' | 'excluded' | 'failures'>;

/** What a plan's view and its summary share: the document's fields, budget and percent done. */
export function planHeader(
  p: PlanHeaderDoc,
  c: HeaderCounts,
): Pick<
  PlanView,
  | 'id'
  | 'name'
  | 'state'
  | 'stateReason'
  | 'createdAt'
  | 'createdBy'
  | 'finishedAt'
  | 'profile'
  | 'hostCount'
  | 'openPhase'
  | 'gate'
  | 'budget'
  | 'percentDone'
> {
  const done = c.succeeded + c.failed + c.excluded;
  return {
    id: p._id,
    name: p.name,
    state: p.state,
    stateReason: p.stateReason,
    createdAt: new Date(p.createdAt).toISOString(),
    createdBy: p.createdBy,
    finishedAt: p.finishedAt ? new Date(p.finishedAt).toISOString() : null,
    profile: p.spec?.profile ?? '',
    hostCount: p.hostCount,
    openPhase: p.openPhase,
    gate: p.gate,
    budget: { limit: p.budget, used: c.failures, remaining: Math.max(0, p.budget - c.failures) },
    percentDone: c.total === 0 ? 100 : Math.floor((done / c.total) * 1000) / 10,
  };
}

export function planView(rt: PlanRuntime): PlanView {
  const p = rt.plan;
  const c = rt.counters;
  return {
    ...planHeader(p, c),
    phases: p.phases.map((ph, i) => {
      const live = rt.phases[i];
      return {
        index: ph.index,
        name: ph.name,
        size: ph.size,
        budget: ph.budget,
        started: live?.started ?? 0,
        final: live?.final ?? 0,
        failed: live?.failed ?? 0,
        inFlight: [...rt.active].filter((id) => rt.runs.get(id)?.phase === i).length,
        states: { ...(live?.states ?? { pending: 0, active: 0, held: 0, succeeded: 0, failed: 0, excluded: 0 }) },
      };
    }),
    counters: structuredClone(c),
    spec: p.spec,
    version: p.version,
  };
}

/** For a plan that is no longer live: the same view, computed from stored runs. */
export function storedPlanView(plan: PlanDoc, runs: HostRunDoc[]): PlanView {
  return planView(new PlanRuntime(plan, runs));
}

export interface RunView {
  hostId: string;
  planId: string;
  runId: string;
  phase: number;
  order: number;
  cluster: string;
  zone: string;
  rack: string;
  state: HostRunDoc['state'];
  step: HostRunDoc['step'];
  stepState: HostRunDoc['stepState'];
  attempt: number;
  percent: number | null;
  failure: HostRunDoc['failure'];
  rollback: HostRunDoc['rollback'];
  /** Why an excluded run never started; '' otherwise. */
  exclusionReason: string;
  deferrals: number;
  /** The steps the run walks forward (what a step graph draws); a rollback only on failure. */
  path: StepName[];
  /** The backup the run's upgrade and rollback rely on ('' before its backup step), and whether the service verified it. */
  backupId: string;
  backupVerified: boolean;
  history: HostRunDoc['history'];
  slots: HostRunDoc['slots'];
}

export function runView(run: HostRunDoc, percent?: number): RunView {
  return {
    hostId: run.hostId,
    planId: run.planId,
    runId: run.runId,
    phase: run.phase,
    order: run.order,
    cluster: run.cluster,
    zone: run.zone,
    rack: run.rack,
    state: run.state,
    step: run.step,
    stepState: run.stepState,
    attempt: run.attempt,
    percent: percent ?? null,
    failure: run.failure,
    rollback: run.rollback,
    exclusionReason: run.exclusionReason ?? '',
    deferrals: run.deferrals,
    path: [...(run.path ?? MIGRATION_STEPS)],
    backupId: run.backupId,
    backupVerified: run.backupVerified,
    history: run.history,
    slots: run.slots,
  };
}
