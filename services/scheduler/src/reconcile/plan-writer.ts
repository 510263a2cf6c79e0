// Stores a live plan's document (one conditional write, under the plan's lock), publishes
// its plan events, and takes an ended plan out of the engine: removed from the live
// state, its runs queued for compaction (compactor.ts), its final runtime kept for views
// until they are compacted.
import { type Bus, clip, conditionalUpdate, FencedError, type Logger, StaleWriteError } from '@yixing/common';
import type { Models, PlanDoc, PlanState } from '../db/models.ts';
import type { Compactor } from './compactor.ts';
import type { Leader } from './leader.ts';
import type { LiveState } from './live-state.ts';
import type { PlanRuntime } from './plan-runtime.ts';

export interface PlanWriterDeps {
  live: LiveState;
  leader: Leader;
  models: Pick<Models, 'Plan'>;
  compactor: Pick<Compactor, 'enqueue'>;
  bus: Bus;
  log: Logger;
  clock: () => number;
}

export class PlanWriter {
  readonly #deps: PlanWriterDeps;

  constructor(deps: PlanWriterDeps) {
    this.#deps = deps;
  }

  /**
   * Stores changes to the plan document, stamped with this leader's epoch; false if
   * someone moved first (the mirror then holds the stored plan). A plan a later leader
   * wrote is not this one's to change: FencedError.
   */
  save(rt: PlanRuntime, changes: Partial<PlanDoc>): Promise<boolean> {
    const { live, models, clock, leader } = this.#deps;
    return live.withLock(`plan:${rt.plan._id}`, async () => {
      const before = rt.plan;
      const leaderEpoch = leader.epoch();
      try {
        rt.plan = await conditionalUpdate(
          models.Plan,
          { _id: before._id, version: before.version },
          { $set: { ...changes, leaderEpoch, updatedAt: new Date(clock()) } },
        );
        live.events.emit('plan', rt.plan._id);
        return true;
      } catch (err) {
        if (!(err instanceof StaleWriteError)) throw err;
        const fresh = await models.Plan.findById(before._id).lean<PlanDoc>();
        if (fresh && (fresh.leaderEpoch ?? 0) > leaderEpoch) {
          throw new FencedError(`plan ${before._id}: written by leader epoch ${fresh.leaderEpoch}, above this one's ${leaderEpoch}`, {
            details: { planId: before._id, epoch: leaderEpoch, found: fresh.leaderEpoch },
          });
        }
        if (fresh) rt.plan = fresh;
        return false;
      }
    });
  }

  /**
   * A leader taking over stamps each live plan with its epoch (a new version): a deposed
   * leader's later write, conditional on the version it read, finds another, and sees the
   * later epoch. Returns the stored plan.
   */
  async fence(plan: PlanDoc): Promise<PlanDoc> {
    const { models, leader } = this.#deps;
    const leaderEpoch = leader.epoch();
    let current = plan;
    for (;;) {
      if ((current.leaderEpoch ?? 0) > leaderEpoch)
        throw new FencedError(`plan ${plan._id}: a later leader (epoch ${current.leaderEpoch}) took it over`, {
          details: { planId: plan._id, epoch: leaderEpoch, found: current.leaderEpoch },
        });
      try {
        return await conditionalUpdate(models.Plan, { _id: current._id, version: current.version }, { $set: { leaderEpoch } });
      } catch (err) {
        if (!(err instanceof StaleWriteError)) throw err;
        const fresh = await models.Plan.findById(plan._id).lean<PlanDoc>();
        if (!fresh) return current;
        current = fresh;
      }
    }
  }

  /** Moves the plan to `state` and announces it; an ended plan leaves the engine and is queued for compaction. */
  async setState(rt: PlanRuntime, state: PlanState, reason: string, extra: Partial<PlanDoc> = {}): Promise<void> {
    const final = state === 'completed' || state === 'aborted';
    const ok = await this.save(rt, {
      state,
      stateReason: reason,
      ...extra,
      ...(final ? { finishedAt: new Date(this.#deps.clock()) } : {}),
    });
    if (!ok) return;
    this.publish(rt, state, reason);
    if (final) {
      const { live, compactor } = this.#deps;
      const planId = rt.plan._id;
      live.removePlan(planId);
      live.ending.set(planId, rt);
      // The runs are read once the changes in flight are stored (the compactor settles first).
      compactor.enqueue(
        planId,
        async () => [...rt.runs.values()],
        () => live.ending.delete(planId),
      );
    }
  }

  /** Publishes a plan event (durably; its id makes a repeat of the same event a duplicate). */
  publish(rt: PlanRuntime, kind: string, message: string, actor = 'scheduler'): void {
    const c = rt.counters;
    const eventId = `${rt.plan._id}.${kind}.${rt.plan.version}.${c.failures}.${c.succeeded}`;
    this.#deps.bus
      .publishDurable(
        'planEvent',
        {
          eventId,
          planId: rt.plan._id,
          kind,
          state: rt.plan.state,
          waveIndex: rt.plan.openPhase,
          actor,
          message: clip('planEvent', 'message', message),
          atMs: this.#deps.clock(),
          counters: {
            total: c.total,
            pending: c.pending,
            inFlight: c.inFlight,
            succeeded: c.succeeded,
            failed: c.failed,
            rolledBack: c.rolledBack,
            excluded: c.excluded,
            failedExecution: c.failuresByKind.execution,
            failedTimeout: c.failuresByKind.timeout,
            failedUnreachable: c.failuresByKind.unreachable,
          },
        },
        eventId,
      )
      .catch((err: Error) => this.#deps.log.warn({ err: err.message, kind }, 'plan event not published'));
  }
}
