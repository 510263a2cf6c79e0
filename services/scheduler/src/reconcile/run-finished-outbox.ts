// The outbox of RunFinished events. A final run's end starts its backups' retention
// clock, so its RunFinished is sent until the stream acknowledges it (the same event id
// each time: the stream drops a repeat), then marked announced by an insert keyed by the
// run id. Rebuilt at start from the stored final states without an announcement.
import { type Bus, isDuplicateKey, type Logger } from '@yixing/common';
import type { HostRunDoc, Models } from '../db/models.ts';

export interface RunFinishedOutboxDeps {
  bus: Pick<Bus, 'publishDurable'>;
  models: Pick<Models, 'RunAnnounced'>;
  clock: () => number;
  log: Logger;
  /** How long after a failed announcement it is sent again. */
  retryMs: number;
  /**
   * Announcements in flight at once. Each publish retries for up to a minute through an
   * outage; after one, thousands of ended runs must not become thousands of publishes.
   */
  maxInFlight?: number;
}

interface Entry {
  run: HostRunDoc;
  triedAt: number;
  inFlight: boolean;
}

/** A run whose end is announced with RunFinished: one that ran and ended (an excluded run never ran). */
export function announces(run: HostRunDoc): boolean {
  return run.state === 'succeeded' || run.state === 'failed';
}

export class RunFinishedOutbox {
  readonly #deps: RunFinishedOutboxDeps;
  readonly #maxInFlight: number;
  /** Final runs (by runId) whose event the stream has not acknowledged yet. */
  readonly #entries = new Map<string, Entry>();
  /** Entries per plan, so that "is this plan still announcing" costs nothing. */
  readonly #perPlan = new Map<string, number>();
  #inFlight = 0;

  constructor(deps: RunFinishedOutboxDeps) {
    this.#deps = deps;
    this.#maxInFlight = deps.maxInFlight ?? 64;
  }

  /** Final runs whose RunFinished was never acknowledged (a lost publish, a crash) go back in. */
  async load(runs: Iterable<HostRunDoc>): Promise<void> {
    const finals = [...runs].filter(announces);
    for (let i = 0; i < finals.length; i += 1000) {
      const chunk = finals.slice(i, i + 1000);
      const done = await this.#deps.models.RunAnnounced.find({ _id: { $in: chunk.map((r) => r.runId) } }, { _id: 1 }).lean<
        { _id: string }[]
      >();
      const announced = new Set(done.map((d) => d._id));
      for (const run of chunk) if (!announced.has(run.runId)) this.#add(run);
    }
  }

  /** A run ended: announce it now if there is room, else at a later tick. */
  add(run: HostRunDoc): void {
    if (!announces(run)) return;
    const entry = this.#add(run);
    if (!entry.inFlight && this.#inFlight < this.#maxInFlight) this.#send(entry);
  }

  /** Sends what is due (new, or failed over `retryMs` ago), at most `maxInFlight` at once. */
  tick(now: number): void {
    if (this.#inFlight >= this.#maxInFlight) return;
    for (const entry of this.#entries.values()) {
      if (entry.inFlight || now - entry.triedAt < this.#deps.retryMs) continue;
      this.#send(entry);
      if (this.#inFlight >= this.#maxInFlight) return;
    }
  }

  /** Whether a RunFinished of one of the plan's runs still waits for its acknowledgement. */
  announcing(planId: string): boolean {
    return this.#perPlan.has(planId);
  }

  /** How many announcements wait (in flight or due later). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Deletes the records of every plan but the live ones: an ended plan is compacted and
   * never announced again (only live plans are loaded). Without this, run_announcements
   * grows by one document per run forever.
   */
  async forgetAllBut(livePlanIds: string[]): Promise<void> {
    await this.#deps.models.RunAnnounced.deleteMany({ planId: { $nin: livePlanIds } });
  }

  #add(run: HostRunDoc): Entry {
    const existing = this.#entries.get(run.runId);
    if (existing) return existing;
    const entry: Entry = { run, triedAt: 0, inFlight: false };
    this.#entries.set(run.runId, entry);
    this.#perPlan.set(run.planId, (this.#perPlan.get(run.planId) ?? 0) + 1);
    return entry;
  }

  #remove(entry: Entry): void {
    if (!this.#entries.delete(entry.run.runId)) return;
    const left = (this.#perPlan.get(entry.run.planId) ?? 1) - 1;
    if (left > 0) this.#perPlan.set(entry.run.planId, left);
    else this.#perPlan.delete(entry.run.planId);
  }

  #send(entry: Entry): void {
    const { bus, models, clock, log } = this.#deps;
    const run = entry.run;
    entry.inFlight = true;
    entry.triedAt = clock();
    this.#inFlight++;
    const eventId = `${run.runId}.final`;
    const finishedAt = run.slots.at(-1)?.releasedAt ?? run.history.at(-1)?.finishedAt;
    const atMs = finishedAt ? new Date(finishedAt).getTime() : entry.triedAt;
    bus
      .publishDurable(
        'runFinished',
        { eventId, hostId: run.hostId, runId: run.runId, planId: run.planId, state: run.state as 'succeeded', atMs },
        eventId,
      )
      .then(async () => {
        try {
          await models.RunAnnounced.create({ _id: run.runId, key: run._id, planId: run.planId, at: new Date(clock()) });
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
        }
        this.#remove(entry);
      })
      .catch((err: Error) => log.warn({ err: err.message, run: run.runId }, 'run-final event not acknowledged yet; sent again later'))
      .finally(() => {
        entry.inFlight = false;
        this.#inFlight--;
      });
  }
}
