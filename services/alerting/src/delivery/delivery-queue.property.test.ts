// Invariants of a DeliveryQueue over random arrivals and answers, on fake time: every
// notification ends once; one attempt at a time; the rate limit and Retry-After hold; a
// group's notifications are attempted in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DeliveryError } from '../errors.ts';
import { failedStep, notification } from '../receivers/notification.testing.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import { FakeReceiver, FakeTimers } from './fake-timers.testing.ts';

type Answer = { kind: 'ok' | 'unavailable' | 'refused' | 'hang'; latencyMs: number; retryAfterMs: number };

const answerArb = fc.record({
  kind: fc.constantFrom('ok', 'ok', 'unavailable', 'refused', 'hang') as fc.Arbitrary<Answer['kind']>,
  latencyMs: fc.integer({ min: 0, max: 5000 }),
  retryAfterMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120_000 })),
});
const arrivalArb = fc.record({ group: fc.constantFrom('g1', 'g2', 'g3'), atMs: fc.integer({ min: 0, max: 300_000 }) });

const LIMIT = { perMinute: 20, burst: 3 };
const TIMEOUT_MS = 10_000;
const MAX_RETRY_AFTER_MS = 60_000;

test("random arrivals and answers keep the queue's promises", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(arrivalArb, { minLength: 1, maxLength: 12 }),
      fc.array(answerArb, { minLength: 1, maxLength: 40 }),
      async (arrivals, answers) => {
        const timers = new FakeTimers(0);
        const ends: { id: string; how: string; at: number }[] = [];
        const calls: { id: string; start: number; end: number; retryAfterMs: number }[] = [];
        let k = 0;
        const receiver = new FakeReceiver('r', timers, (c) => {
          const a = answers[k++ % answers.length]!;
          const call = { id: c.id, start: c.at, end: c.at + Math.min(a.latencyMs, TIMEOUT_MS), retryAfterMs: 0 };
          calls.push(call);
          if (a.kind === 'hang') {
            call.end = c.at + TIMEOUT_MS;
            return;
          }
          timers.setTimeout(() => {
            if (a.kind === 'ok') return c.resolve();
            if (a.kind === 'refused') return c.reject(new DeliveryError('400', { code: 'RECEIVER_REFUSED', retryable: false }));
            if (a.retryAfterMs > 0) call.retryAfterMs = Math.min(a.retryAfterMs, MAX_RETRY_AFTER_MS);
            c.reject(
              new DeliveryError('503', { code: 'RECEIVER_UNAVAILABLE', retryable: true, retryAfterMs: a.retryAfterMs || undefined }),
            );
          }, a.latencyMs);
        });
        const queue = new DeliveryQueue({
          receiver,
          retry: { baseMs: 1000, maxMs: 30_000, maxAttempts: 4, maxRetryAfterMs: MAX_RETRY_AFTER_MS },
          rateLimit: LIMIT,
          attemptTimeoutMs: TIMEOUT_MS,
          timers,
          random: () => 0.5,
          callbacks: {
            delivered: (id) => ends.push({ id, how: 'delivered', at: timers.now() }),
            failed: (id, _err, willRetry) => {
              if (!willRetry) ends.push({ id, how: 'gave up', at: timers.now() });
            },
          },
        });
        const notes = arrivals
          .map((a, i) => ({ ...a, n: { ...notification([failedStep(1)]), id: `n${i}`, groupKey: a.group, receiver: 'r' } }))
          .toSorted((a, b) => a.atMs - b.atMs);
        for (const a of notes) {
          await timers.advance(a.atMs - timers.now());
          queue.enqueue(a.n);
        }
        for (let i = 0; i < 100 && queue.pending().length > 0; i++) await timers.advance(60_000);

        // Every notification ends exactly once.
        assert.deepEqual(ends.map((e) => e.id).toSorted(), notes.map((a) => a.n.id).toSorted());
        for (let i = 1; i < calls.length; i++) {
          const [prev, cur] = [calls[i - 1]!, calls[i]!];
          assert.ok(cur.start >= prev.end, `one attempt at a time: ${cur.id} at ${cur.start} before ${prev.id} ended at ${prev.end}`);
          if (prev.retryAfterMs > 0)
            assert.ok(cur.start >= prev.end + prev.retryAfterMs, `Retry-After of ${prev.id} kept: ${JSON.stringify(calls)}`);
          for (let j = 0; j < i; j++) {
            const allowed = LIMIT.burst + ((cur.start - calls[j]!.start) * LIMIT.perMinute) / 60_000;
            assert.ok(i - j + 1 <= allowed + 1e-6, `${i - j + 1} attempts within ${cur.start - calls[j]!.start} ms`);
          }
        }
        // A group's notifications are attempted in the order they came, each after the one before ended.
        for (const [x, y] of notes.flatMap((a, i) => notes.slice(i + 1).map((b) => [a, b] as const))) {
          if (x.n.groupKey !== y.n.groupKey) continue;
          const firstOfY = calls.find((c) => c.id === y.n.id)?.start;
          const endOfX = ends.find((e) => e.id === x.n.id)?.at;
          if (firstOfY !== undefined && endOfX !== undefined) assert.ok(firstOfY >= endOfX, `${y.n.id} before ${x.n.id} ended`);
        }
        await queue.stop();
      },
    ),
    { numRuns: 150 },
  );
});
