// The engine's live state: the mirror of every live plan, which host each run occupies,
// hosts held for plans whose creation is not settled, per-run bookkeeping of commands and
// backup polls, and the locks that serialize every change of one run (or one plan
// document). The database stays the source of truth; `commit` writes a run's next version
// and keeps the mirror equal to what was stored.
import { EventEmitter } from 'node:events';
import { StaleWriteError } from '@yixing/common';
import type { HostRunDoc, PlanDoc } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { isOccupying, PlanRuntime } from './plan-runtime.ts';
import type { SentCommand } from './supervision.ts';

export interface EngineEvents {
  plan: [planId: string];
  run: [planId: string, run: HostRunDoc];
}

/** The last send of a run's command by this process. */
export interface SentRecord extends SentCommand {
  commandId: string;
}

/** A run waiting for its backup: when the backup service was last asked about it. */
export interface BackupPoll {
  at: number;
  inFlight: boolean;
}

export class LiveState {
  readonly events = new EventEmitter<EngineEvents>();
  readonly plans = new Map<string, PlanRuntime>();
  /**
   * Plans that ended and are being compacted: out of the engine, their final runtime kept
   * for views until their runs are archived (reading a 10,000-run plan back from the store
   * while its compaction runs took over 30 s on FerretDB's SQLite backend).
   */
  readonly ending = new Map<string, PlanRuntime>();
  /** By run key. */
  readonly sent = new Map<string, SentRecord>();
  /** By run key. */
  readonly backupPolls = new Map<string, BackupPoll>();
  readonly #runs: Pick<RunStore, 'commit' | 'loadRun'>;
  readonly #byRunId = new Map<string, { planId: string; docId: string }>();
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Live runs occupying each host (across plans). */
  readonly #occupied = new Map<string, number>();
  /** Hosts held (host → plan) for plans whose creation is not settled; see holdHosts. */
  readonly #held = new Map<string, string>();
  readonly #holds = new Map<string, string[]>();

  readonly #onStored: (rt: PlanRuntime, before: HostRunDoc, stored: HostRunDoc) => void;

  /** `onStored` hears of every run version this process stored (after it was stored). */
  constructor(
    runs: Pick<RunStore, 'commit' | 'loadRun'>,
    onStored: (rt: PlanRuntime, before: HostRunDoc, stored: HostRunDoc) => void = () => {},
  ) {
    this.#runs = runs;
    this.#onStored = onStored;
  }

  addPlan(plan: PlanDoc, runs: HostRunDoc[]): PlanRuntime {
    const rt = new PlanRuntime(plan, runs);
    this.releaseHosts(plan._id);
    this.plans.set(plan._id, rt);
    for (const r of runs) {
      this.#byRunId.set(r.runId, { planId: plan._id, docId: r._id });
      if (isOccupying(r)) this.#occupy(r.hostId, 1);
    }
    this.events.emit('plan', plan._id);
    return rt;
  }

  /** Takes a plan out: undoes everything addPlan and its runs' changes did. */
  removePlan(planId: string): void {
    this.releaseHosts(planId);
    const rt = this.plans.get(planId);
    if (!rt) return;
    this.plans.delete(planId);
    for (const r of rt.runs.values()) {
      if (this.#byRunId.get(r.runId)?.planId === planId) this.#byRunId.delete(r.runId);
      if (isOccupying(r)) this.#occupy(r.hostId, -1);
      this.sent.delete(r._id);
      this.backupPolls.delete(r._id);
    }
  }

  /**
   * Holds hosts for a plan the engine does not run, whose creation is not settled (was its
   * document stored?): no other plan may take them meanwhile. Adding the plan, or
   * releasing them, ends the hold.
   */
  holdHosts(planId: string, hostIds: string[]): void {
    this.releaseHosts(planId);
    this.#holds.set(planId, hostIds);
    for (const h of hostIds) this.#held.set(h, planId);
  }

  releaseHosts(planId: string): void {
    for (const h of this.#holds.get(planId) ?? []) if (this.#held.get(h) === planId) this.#held.delete(h);
    this.#holds.delete(planId);
  }

  /** Serializes every change of one run (or one plan document) in call order. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#locks.set(key, settled);
    void settled.then(() => {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    });
    return next;
  }

  /** Resolves once every change started so far is done. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#locks.values()]);
  }

  isOccupied(hostId: string): boolean {
    return this.#occupied.has(hostId);
  }

  /** The live plan and run key of a run id (the bus names runs by id). */
  locate(runId: string): { rt: PlanRuntime; docId: string } | undefined {
    const ref = this.#byRunId.get(runId);
    const rt = ref && this.plans.get(ref.planId);
    return ref && rt ? { rt, docId: ref.docId } : undefined;
  }

  /** The host's runs in live plans and in plans being compacted, with their live progress. */
  liveRunsOf(hostId: string): { run: HostRunDoc; percent: number | undefined }[] {
    const out: { run: HostRunDoc; percent: number | undefined }[] = [];
    // Ending plans too: until their runs are archived, the store has them only as versions.
    for (const rt of [...this.plans.values(), ...this.ending.values()]) {
      const run = rt.runs.get(`${rt.plan._id}/${hostId}`);
      if (run) out.push({ run, percent: rt.progress.get(run._id) });
    }
    return out;
  }

  /** The live plan that owns the host (a run of it that is not excluded, or a hold), if any. */
  livePlanOf(hostId: string): string | null {
    const held = this.#held.get(hostId);
    if (held !== undefined) return held;
    for (const rt of this.plans.values()) {
      const run = rt.runs.get(`${rt.plan._id}/${hostId}`);
      if (run && run.state !== 'excluded') return rt.plan._id;
    }
    return null;
  }

  /** Puts a run's new version in the mirror (stored, or about to be under its lock). */
  replace(rt: PlanRuntime, run: HostRunDoc): void {
    const old = rt.runs.get(run._id);
    if (old && isOccupying(old)) this.#occupy(old.hostId, -1);
    if (isOccupying(run)) this.#occupy(run.hostId, 1);
    if (old && old.runId !== run.runId) this.#byRunId.delete(old.runId);
    this.#byRunId.set(run.runId, { planId: rt.plan._id, docId: run._id });
    // Per-run bookkeeping lives only as long as what it tracks.
    if (run.stepState !== 'awaiting-backup') this.backupPolls.delete(run._id);
    if (!run.step) this.sent.delete(run._id);
    rt.replace(run);
    this.events.emit('run', rt.plan._id, run);
  }

  /** Stores `after` as the next version of `before`; false if someone moved first. */
  async commit(rt: PlanRuntime, before: HostRunDoc, after: HostRunDoc): Promise<boolean> {
    try {
      const stored = await this.#runs.commit(before, after);
      this.replace(rt, stored);
      this.#onStored(rt, before, stored);
      return true;
    } catch (err) {
      if (!(err instanceof StaleWriteError)) {
        await this.#reloadRun(rt, before._id).catch(() => undefined);
        throw err;
      }
      await this.#reloadRun(rt, before._id);
      return false;
    }
  }

  async #reloadRun(rt: PlanRuntime, key: string): Promise<void> {
    const fresh = await this.#runs.loadRun(key);
    if (fresh) this.replace(rt, fresh);
  }

  #occupy(hostId: string, sign: 1 | -1): void {
    const n = (this.#occupied.get(hostId) ?? 0) + sign;
    if (n <= 0) this.#occupied.delete(hostId);
    else this.#occupied.set(hostId, n);
  }
}
