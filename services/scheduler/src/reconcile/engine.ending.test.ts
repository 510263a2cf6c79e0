// A plan that ends leaves the engine, and its runs are compacted off the engine's tick;
// until they are, its final runtime stays readable for views (a read from the store
// meanwhile took over 30 s at 10,000 runs on FerretDB's SQLite backend).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStore } from '../db/run-store.ts';
import { endedPlanModels, fakeEngineDeps, finishedRun, testPlan } from './engine.fixtures.ts';
import { Engine } from './engine.ts';

test("an ended plan's final runtime is readable while its runs are compacted, and only then; the tick does not wait", async () => {
  const plan = testPlan('p-ending', 3);
  const runs = Array.from({ length: 3 }, (_, i) => finishedRun(plan._id, `h${i}`, i));
  let release: () => void = () => {};
  const compacting = new Promise<void>((r) => {
    release = r;
  });
  let compactionStarted = false;
  const models = endedPlanModels(plan, runs);
  const store = {
    loadPlan: async () => runs,
    fencePlans: async () => undefined,
    compact: async () => {
      compactionStarted = true;
      await compacting;
    },
  } as unknown as RunStore;
  const engine = new Engine(fakeEngineDeps({ models, runs: store }));
  await engine.load();
  await engine.tick();
  while (!compactionStarted) await sleep(1);
  assert.equal(engine.runtime(plan._id), undefined, 'out of the engine: nothing acts on it');
  await engine.tick();
  const ending = engine.endingRuntime(plan._id);
  assert.equal(ending?.plan.state, 'completed', 'the engine ticks on while the compaction runs');
  assert.equal(ending?.counters.succeeded, 3);
  release();
  await engine.compacted();
  assert.equal(engine.endingRuntime(plan._id), undefined, 'compacted: views read the store');
  await engine.stop();
});
