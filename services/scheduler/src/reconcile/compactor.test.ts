import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Logger, silentLogger } from '@yixing/common';
import type { HostRunDoc } from '../db/models.ts';
import { Compactor } from './compactor.ts';

/** A store whose compactions wait to be released, one by one, recording what they saw. */
function gatedStore() {
  const calls: { planId: string; runs: number; signal: AbortSignal | undefined }[] = [];
  const gates: (() => void)[] = [];
  let running = 0;
  let most = 0;
  const runs = {
    compact: async (planId: string, finals: HostRunDoc[], signal?: AbortSignal) => {
      calls.push({ planId, runs: finals.length, signal });
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      if (signal?.aborted) throw new Error('stopped at its next batch');
    },
  };
  const releaseNext = async (): Promise<void> => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()?.();
  };
  return { runs, calls, releaseNext, most: () => most };
}

const finals = (n: number) => async () => Array.from({ length: n }, () => ({}) as HostRunDoc);

test('plans are compacted one at a time, in order, each once however often queued; done follows each', async () => {
  const store = gatedStore();
  const done: string[] = [];
  let settled = 0;
  const compactor = new Compactor({ runs: store.runs, settle: async () => void settled++, log: silentLogger() });
  compactor.enqueue('p1', finals(3), () => done.push('p1'));
  compactor.enqueue('p2', finals(2), () => done.push('p2'));
  compactor.enqueue('p2', finals(2), () => done.push('p2 again'));
  assert.equal(compactor.pending, 2);
  await store.releaseNext();
  await store.releaseNext();
  await compactor.idle();
  assert.deepEqual(
    store.calls.map((c) => [c.planId, c.runs]),
    [
      ['p1', 3],
      ['p2', 2],
    ],
  );
  assert.deepEqual(done, ['p1', 'p2']);
  assert.equal(store.most(), 1, 'never two at once');
  assert.equal(settled, 2, 'the changes in flight are stored before each compaction reads its runs');
  assert.equal(compactor.pending, 0);
});

test('a failed compaction is logged and the next one runs', async () => {
  const errors: string[] = [];
  const log = { ...silentLogger(), error: (o: { plan: string }) => errors.push(o.plan) } as unknown as Logger;
  const compacted: string[] = [];
  const runs = {
    compact: async (planId: string) => {
      if (planId === 'bad') throw new Error('store down');
      compacted.push(planId);
    },
  };
  const done: string[] = [];
  const compactor = new Compactor({ runs, settle: async () => undefined, log });
  compactor.enqueue('bad', finals(1), () => done.push('bad'));
  compactor.enqueue('good', finals(1), () => done.push('good'));
  await compactor.idle();
  assert.deepEqual(errors, ['bad']);
  assert.deepEqual(compacted, ['good']);
  assert.deepEqual(done, ['bad', 'good']);
});

test('stop signals the running compaction, starts no queued one, and ends every job', async () => {
  const store = gatedStore();
  const done: string[] = [];
  const compactor = new Compactor({ runs: store.runs, settle: async () => undefined, log: silentLogger() });
  compactor.enqueue('p1', finals(1), () => done.push('p1'));
  compactor.enqueue('p2', finals(1), () => done.push('p2'));
  while (store.calls.length === 0) await new Promise((r) => setImmediate(r));
  const stopping = compactor.stop();
  assert.equal(store.calls[0]?.signal?.aborted, true, 'the running one is told to stop');
  assert.deepEqual(done, ['p2'], 'the queued one is given up at once');
  await store.releaseNext();
  await stopping;
  assert.deepEqual(done, ['p2', 'p1']);
  assert.deepEqual(
    store.calls.map((c) => c.planId),
    ['p1'],
  );
  compactor.enqueue('p3', finals(1), () => done.push('p3'));
  assert.deepEqual(done, ['p2', 'p1', 'p3'], 'once stopped, nothing more is compacted');
  assert.equal(store.calls.length, 1);
});
