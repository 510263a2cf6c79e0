// The reports a drill-down is paging through, kept a little while: the first page of a
// group builds the report afresh (reading every precheck of the pool: seconds at 100,000
// hosts) and keeps it; the pages after it (they carry a cursor) read the kept one while
// it is being read, so walking a kind of 100,000 hosts 1000 at a time builds the report
// once, and every page comes from the same report. A few reports at most (each holds a
// line per host); the least recently read goes first. Written here rather than taking
// lru-cache as a new dependency for these few lines.

export class RecentReports<T> {
  readonly #kept = new Map<string, { value: T; usedAt: number }>();
  readonly #idleMs: number;
  readonly #max: number;

  /** Kept until `idleMs` without a read, `max` at most. */
  constructor(idleMs: number, max: number) {
    this.#idleMs = idleMs;
    this.#max = max;
  }

  /** The report kept under `key` if read within the idle time (the read keeps it longer). */
  get(key: string, now: number): T | undefined {
    const e = this.#kept.get(key);
    if (!e) return undefined;
    if (now - e.usedAt > this.#idleMs) {
      this.#kept.delete(key);
      return undefined;
    }
    e.usedAt = now;
    // Last used goes last: the first in the map is the one to drop.
    this.#kept.delete(key);
    this.#kept.set(key, e);
    return e.value;
  }

  put(key: string, value: T, now: number): void {
    this.#kept.delete(key);
    this.#kept.set(key, { value, usedAt: now });
    while (this.#kept.size > this.#max) {
      const oldest = this.#kept.keys().next().value as string;
      this.#kept.delete(oldest);
    }
  }
}
