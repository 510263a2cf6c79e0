// Binary heaps over an array, smallest first by `before`. Written here rather than taken
// from npm (tinyqueue, heap-js): they are a few lines, and admission (an indexed heap read
// in order without changing it, which those do not offer) and the schedule replay are
// their only users.

/** Moves a[i] up to its place; `placed` hears of every item put at an index. Returns its index. */
function siftUp<T>(a: T[], i: number, before: (x: T, y: T) => boolean, placed?: (item: T, at: number) => void): number {
  const item = a[i] as T;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(item, a[parent] as T)) break;
    a[i] = a[parent] as T;
    placed?.(a[i] as T, i);
    i = parent;
  }
  a[i] = item;
  placed?.(item, i);
  return i;
}

/** Moves a[i] down to its place; `placed` hears of every item put at an index. */
function siftDown<T>(a: T[], i: number, before: (x: T, y: T) => boolean, placed?: (item: T, at: number) => void): void {
  const item = a[i] as T;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= a.length) break;
    const r = l + 1;
    const child = r < a.length && before(a[r] as T, a[l] as T) ? r : l;
    if (!before(a[child] as T, item)) break;
    a[i] = a[child] as T;
    placed?.(a[i] as T, i);
    i = child;
  }
  a[i] = item;
  placed?.(item, i);
}

export class BinaryHeap<T> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  /** `before(a, b)`: a comes out before b. */
  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    siftUp(this.#items, this.#items.push(item) - 1, this.#before);
  }

  pop(): T | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      siftDown(a, 0, this.#before);
    }
    return top;
  }
}

/**
 * A binary heap whose items know their place, so that one item's key can change (`update`)
 * or it can leave (`remove`) in O(log n); and which can be read in order without being
 * changed (`ordered`), paying only for what is read.
 */
export class IndexedHeap<T> {
  readonly #items: T[] = [];
  readonly #at = new Map<T, number>();
  readonly #before: (a: T, b: T) => boolean;
  readonly #placed = (item: T, i: number): void => {
    this.#at.set(item, i);
  };

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  has(item: T): boolean {
    return this.#at.has(item);
  }

  /** Adds the item, or moves it to where its key now puts it. */
  update(item: T): void {
    const i = this.#at.get(item) ?? this.#items.push(item) - 1;
    siftDown(this.#items, siftUp(this.#items, i, this.#before, this.#placed), this.#before, this.#placed);
  }

  remove(item: T): void {
    const i = this.#at.get(item);
    if (i === undefined) return;
    this.#at.delete(item);
    const last = this.#items.pop() as T;
    if (i === this.#items.length) return;
    this.#items[i] = last;
    siftDown(this.#items, siftUp(this.#items, i, this.#before, this.#placed), this.#before, this.#placed);
  }

  /** Puts every item in place again, after keys changed all at once. */
  reorder(): void {
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) siftDown(this.#items, i, this.#before, this.#placed);
  }

  /** The items, first first; each step costs O(log k) for k read so far. */
  *ordered(): Generator<T> {
    const a = this.#items;
    if (a.length === 0) return;
    const frontier = new BinaryHeap<number>((i, j) => this.#before(a[i] as T, a[j] as T));
    frontier.push(0);
    for (let i = frontier.pop(); i !== undefined; i = frontier.pop()) {
      if (2 * i + 1 < a.length) frontier.push(2 * i + 1);
      if (2 * i + 2 < a.length) frontier.push(2 * i + 2);
      yield a[i] as T;
    }
  }
}
