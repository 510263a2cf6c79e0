// What the scheduler keeps for a bounded time, deleted from the engine's loop once an hour
// (FerretDB v1 has no TTL indexes): Idempotency-Keys past their time (a retry comes within
// minutes), the RunFinished announcements of plans no longer live (only live plans
// read them; an ended plan is compacted and never announced again), and the run tickets
// of plans compacted a while ago (db/run-versions.ts: only versions need them, and a read
// of the plan that began before its compaction may still).
import type { Logger } from '@yixing/common';
import type { Models } from '../db/models.ts';
import type { RunFinishedOutbox } from './run-finished-outbox.ts';

const EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How long after a plan ended its tickets are kept (a read of it takes seconds). */
export const TICKET_GRACE_MS = 600_000;

export interface HousekeepingDeps {
  models: Pick<Models, 'PlanRequest' | 'Plan' | 'RunState' | 'RunTicket'>;
  outbox: Pick<RunFinishedOutbox, 'forgetAllBut'>;
  log: Logger;
  /** How long an Idempotency-Key is remembered (default a day). */
  planRequestTtlMs?: number | undefined;
}

export class Housekeeping {
  readonly #deps: HousekeepingDeps;
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(deps: HousekeepingDeps) {
    this.#deps = deps;
  }

  /** Sweeps if an hour has passed since the last sweep; never throws, never waits. */
  tick(now: number, livePlanIds: () => string[]): void {
    if (now - this.#sweptAt < EVERY_MS) return;
    this.#sweptAt = now;
    const { models, outbox, log } = this.#deps;
    const before = new Date(now - (this.#deps.planRequestTtlMs ?? DAY_MS));
    const warn = (what: string) => (err: Error) => log.warn({ err: err.message }, `${what} not deleted; tried again in an hour`);
    Promise.resolve()
      .then(() => models.PlanRequest.deleteMany({ createdAt: { $lt: before } }))
      .catch(warn('old Idempotency-Keys'));
    Promise.resolve()
      .then(() => outbox.forgetAllBut(livePlanIds()))
      .catch(warn('announcements of ended plans'));
    Promise.resolve()
      .then(() => this.#dropTickets(now, livePlanIds()))
      .catch(warn('tickets of ended plans'));
  }

  async #dropTickets(now: number, live: string[]): Promise<void> {
    const { models } = this.#deps;
    const [withTickets, withVersions] = await Promise.all([
      models.RunTicket.distinct('planId') as Promise<string[]>,
      models.RunState.distinct('planId') as Promise<string[]>,
    ]);
    const keep = new Set([...live, ...withVersions]);
    const candidates = withTickets.filter((id) => !keep.has(id));
    if (candidates.length === 0) return;
    const plans = await models.Plan.find({ _id: { $in: candidates } }, { _id: 1, finishedAt: 1 }).lean<
      { _id: string; finishedAt: Date | null }[]
    >();
    const over = new Map(plans.map((p) => [p._id, p.finishedAt]));
    const drop = candidates.filter((id) => {
      const finishedAt = over.get(id);
      // A plan deleted, or ended long enough ago; one whose end is not stored yet keeps them.
      return !over.has(id) || (finishedAt != null && now - new Date(finishedAt).getTime() > TICKET_GRACE_MS);
    });
    if (drop.length > 0) await models.RunTicket.deleteMany({ planId: { $in: drop } });
  }
}
