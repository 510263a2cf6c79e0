// Fake time for the delivery tests: timers run only when a test advances the clock, in
// time order, with promise chains settled after each one.
import type { Notification } from '../model/alert.ts';
import type { Receiver } from '../receivers/receiver.ts';
import type { Timers } from './delivery-queue.ts';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class FakeTimers implements Timers {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock `ms` ahead, running every timer that falls due, earliest (then oldest) first. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
    await settle();
  }
}

export interface FakeCall {
  id: string;
  at: number;
  signal: AbortSignal;
  resolve(): void;
  reject(err: unknown): void;
}

/** A receiver as a port: every send() is a call the test answers, or `answer` does at once. */
export class FakeReceiver implements Receiver {
  readonly kind = 'webhook' as const;
  readonly calls: FakeCall[] = [];
  readonly name: string;
  readonly timers: FakeTimers;
  answer: ((call: FakeCall) => void) | undefined;

  constructor(name: string, timers: FakeTimers, answer?: (call: FakeCall) => void) {
    this.name = name;
    this.timers = timers;
    this.answer = answer;
  }

  send(n: Notification, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = { id: n.id, at: this.timers.now(), signal, resolve, reject };
      this.calls.push(call);
      this.answer?.(call);
    });
  }

  /** The ids of the calls so far, with the time of each. */
  get log(): string[] {
    return this.calls.map((c) => `${c.at} ${c.id}`);
  }
}
