// Compacts ended plans in the background, one at a time, off the engine's tick. Inside the
// tick, a plan's compaction held every other plan still: at 10,000 runs on FerretDB's
// SQLite backend it took over a minute (each batch's version delete reads every version
// stored), and CI's two-replica chaos test saw the next plan wait 120 s for it. What a
// compaction does not finish (stopped, or a store error) keeps its versions and is
// compacted again at the next start (Engine.load).
import type { Logger } from '@yixing/common';
import type { HostRunDoc } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';

export interface CompactorDeps {
  runs: Pick<RunStore, 'compact'>;
  /** Resolves once every run change started so far is stored (LiveState.settle). */
  settle: () => Promise<void>;
  log: Logger;
}

interface Job {
  planId: string;
  finals: () => Promise<HostRunDoc[]>;
  done: () => void;
}

export class Compactor {
  readonly #deps: CompactorDeps;
  readonly #queue: Job[] = [];
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;

  constructor(deps: CompactorDeps) {
    this.#deps = deps;
  }

  /**
   * Compacts the plan after those queued before it; `done` runs when it is over, compacted
   * or not. A plan already queued is not queued twice.
   */
  enqueue(planId: string, finals: () => Promise<HostRunDoc[]>, done: () => void = () => undefined): void {
    if (this.#abort.signal.aborted) {
      done();
      return;
    }
    if (this.#queue.some((j) => j.planId === planId)) return;
    this.#queue.push({ planId, finals, done });
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  /** Plans queued or being compacted. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Resolves once nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Starts no other compaction and stops the running one at its next batch; resolves when it has. */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const job of this.#queue.splice(1)) job.done();
    await this.idle();
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue[0]; job; job = this.#queue[0]) {
      try {
        await this.#deps.settle();
        await this.#deps.runs.compact(job.planId, await job.finals(), this.#abort.signal);
      } catch (err) {
        this.#deps.log.error({ plan: job.planId, err: (err as Error).message }, 'compaction incomplete; retried at the next start');
      } finally {
        this.#queue.shift();
        job.done();
      }
      if (this.#abort.signal.aborted) {
        for (const left of this.#queue.splice(0)) left.done();
      }
    }
  }
}
