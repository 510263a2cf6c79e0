// The inventory's host ids in ascending order, for the host list's pages and plan
// selection. Sorting every host on each request (the way before) cost an O(n log n) pass
// of the event loop per page at 300,000 hosts, and the scale benchmark asks for a page
// every 2 s while hosts register. Here a read costs what changed: ids added since the last
// read are sorted alone and merged in one pass.
export class IdOrder {
  #sorted: string[] = [];
  #added: string[] = [];

  /** An id not added before (the caller knows: the inventory adds a host once). */
  add(id: string): void {
    this.#added.push(id);
  }

  get size(): number {
    return this.#sorted.length + this.#added.length;
  }

  /** Every id, ascending. The array is the order's own: read it, never change it. */
  ids(): readonly string[] {
    if (this.#added.length === 0) return this.#sorted;
    const added = this.#added.sort(compareIds);
    const sorted = this.#sorted;
    const merged = new Array<string>(sorted.length + added.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < sorted.length && j < added.length)
      merged[k++] = compareIds(sorted[i] as string, added[j] as string) <= 0 ? (sorted[i++] as string) : (added[j++] as string);
    while (i < sorted.length) merged[k++] = sorted[i++] as string;
    while (j < added.length) merged[k++] = added[j++] as string;
    this.#sorted = merged;
    this.#added = [];
    return this.#sorted;
  }

  /** The position of the first id above `id` in `ids()` (binary search). */
  indexAfter(id: string): number {
    const ids = this.ids();
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareIds(ids[mid] as string, id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Code-unit order, as the cursor compares ids (`a < b`), not the locale's. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
