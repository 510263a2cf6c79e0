// What the scheduler keeps for a bounded time, deleted from the engine's loop once an hour
// (FerretDB v1 has no TTL indexes): Idempotency-Keys past their time (a retry comes within
// minutes), and the RunFinished announcements of plans no longer live (only live plans
// read them; an ended plan is compacted and never announced again).
import type { Logger } from '@yixing/common';
import type { Models } from '../db/models.ts';
import type { RunFinishedOutbox } from './run-finished-outbox.ts';

const EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface HousekeepingDeps {
  models: Pick<Models, 'PlanRequest'>;
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
  }
}
