// The in-memory mirror of one live plan: its document, its host-runs, and counters kept
// up to date by accounting every run replacement (old out, new in). The database stays
// the source of truth; a scheduler that restarts rebuilds this from it.
import type { HostRunDoc, PlanDoc, RunState } from '../db/models.ts';
import type { ChangeContext } from '../host-runs/run-changes.ts';
import { RunNotLiveError } from './errors.ts';
import { PendingQueues } from './pending-queues.ts';

export interface PhaseCounters {
  size: number;
  budget: number;
  /** Runs started at least once, or final, or excluded. */
  started: number;
  final: number;
  failed: number;
  inFlightNotFailed: number;
  /** The phase's runs by state (what the console's plan view counts and drills into). */
  states: Record<RunState, number>;
}

export interface PlanCounters {
  total: number;
  pending: number;
  active: number;
  held: number;
  succeeded: number;
  failed: number;
  excluded: number;
  /** Runs occupying a slot: active or held. */
  inFlight: number;
  inFlightNotFailed: number;
  /** Runs that count against the error budget (failed, or failed and rolling back / held). */
  failures: number;
  failuresByKind: { execution: number; timeout: number; unreachable: number };
  rolledBack: number;
  rollbackFailed: number;
}

export function emptyCounters(total: number): PlanCounters {
  return {
    total,
    pending: 0,
    active: 0,
    held: 0,
    succeeded: 0,
    failed: 0,
    excluded: 0,
    inFlight: 0,
    inFlightNotFailed: 0,
    failures: 0,
    failuresByKind: { execution: 0, timeout: 0, unreachable: 0 },
    rolledBack: 0,
    rollbackFailed: 0,
  };
}

export const isOccupying = (r: HostRunDoc): boolean => r.state === 'active' || r.state === 'held';
export const countsAsFailure = (r: HostRunDoc): boolean => r.failure !== null && r.state !== 'pending';
export const isFinal = (r: HostRunDoc): boolean => r.state === 'succeeded' || r.state === 'failed' || r.state === 'excluded';

export class PlanRuntime {
  plan: PlanDoc;
  readonly runs = new Map<string, HostRunDoc>();
  /** Run ids in take order: by phase, then by the plan's host order. */
  readonly order: string[];
  readonly active = new Set<string>();
  counters: PlanCounters;
  phases: PhaseCounters[];
  /** Last sequence number used for a take, a release or a failure of this plan. */
  seq = 0;
  /** The pending runs as admission reads them (pending-queues.ts). */
  readonly pendingQueues: PendingQueues;
  /** This plan's runs in flight per failure domain, by `${domain}:${name}`. */
  readonly inFlightByDomain = new Map<string, number>();
  /** What was last announced of the plan's hosts against its windows (plans/windows.ts windowNotice); null after a start. */
  windowWarned: boolean | null = null;
  /** In-memory step progress (0..100) of active runs, for the API and the console. */
  readonly progress = new Map<string, number>();

  constructor(plan: PlanDoc, runs: HostRunDoc[]) {
    this.plan = plan;
    this.counters = emptyCounters(runs.length);
    this.phases = plan.phases.map((p) => ({
      size: p.size,
      budget: p.budget,
      started: 0,
      final: 0,
      failed: 0,
      inFlightNotFailed: 0,
      states: { pending: 0, active: 0, held: 0, succeeded: 0, failed: 0, excluded: 0 },
    }));
    const sorted = [...runs].sort((a, b) => a.phase - b.phase || a.order - b.order);
    this.order = sorted.map((r) => r._id);
    for (const r of sorted) this.runs.set(r._id, r);
    this.pendingQueues = new PendingQueues(plan.spec.profile, sorted);
    for (const r of sorted) {
      this.account(r, 1);
      for (const s of r.slots) this.seq = Math.max(this.seq, s.takenSeq, s.releasedSeq ?? 0);
      if (r.failure) this.seq = Math.max(this.seq, r.failure.seq);
    }
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** The run under `key`, which the caller took from this plan (its order, active set or a run index). */
  run(key: string): HostRunDoc {
    const run = this.runs.get(key);
    if (!run) throw new RunNotLiveError(`run ${key} is not in live plan ${this.plan._id}`);
    return run;
  }

  /** What a change of one of this plan's runs at `now` needs (run-changes.ts). */
  changeContext(now: number, deadlineGraceMs: number): ChangeContext {
    return { now, nextSeq: () => this.nextSeq(), timeoutSeconds: this.plan.spec.steps.timeoutSeconds, deadlineGraceMs };
  }

  /** Replaces a run in the mirror, keeping every counter exact. */
  replace(run: HostRunDoc): void {
    const old = this.runs.get(run._id);
    if (old) this.account(old, -1);
    this.runs.set(run._id, run);
    this.account(run, 1);
    if (run.state === 'succeeded' && old?.state !== 'succeeded') this.pendingQueues.finished(run);
    if (!isOccupying(run)) this.progress.delete(run._id);
  }

  account(r: HostRunDoc, sign: 1 | -1): void {
    const c = this.counters;
    const ph = this.phases[r.phase];
    c[r.state] += sign;
    if (r.state === 'pending') {
      if (sign > 0) this.pendingQueues.added(r);
      else this.pendingQueues.removed(r);
    }
    const occupying = isOccupying(r);
    const failed = countsAsFailure(r);
    if (occupying) {
      c.inFlight += sign;
      for (const key of [`cluster:${r.cluster}`, `zone:${r.zone}`, `rack:${r.rack}`]) {
        const n = (this.inFlightByDomain.get(key) ?? 0) + sign;
        if (n === 0) this.inFlightByDomain.delete(key);
        else this.inFlightByDomain.set(key, n);
      }
      if (sign > 0) this.active.add(r._id);
      else this.active.delete(r._id);
      if (!failed) {
        c.inFlightNotFailed += sign;
        if (ph) ph.inFlightNotFailed += sign;
      }
    }
    if (failed && r.failure) {
      c.failures += sign;
      c.failuresByKind[r.failure.kind] += sign;
      if (ph) ph.failed += sign;
    }
    if (r.rollback === 'succeeded') c.rolledBack += sign;
    if (r.rollback === 'failed') c.rollbackFailed += sign;
    if (ph) {
      ph.states[r.state] += sign;
      if (r.state !== 'pending' || r.slots.length > 0) ph.started += sign;
      if (isFinal(r)) ph.final += sign;
    }
  }
}
