// What is kept for a bounded time is swept from the engine's loop once an hour (FerretDB
// v1 has no TTL indexes): plan_requests (Idempotency-Keys) after a day, and the
// run_announcements of plans no longer live (compacted: never announced again).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@yixing/common';
import type { Models } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { endedPlanModels, fakeEngineDeps, finishedRun, testPlan } from './engine.fixtures.ts';
import { Engine } from './engine.ts';
import { Housekeeping } from './housekeeping.ts';

test('Idempotency-Keys older than a day are deleted, once an hour', async () => {
  const deletes: unknown[] = [];
  const models = { PlanRequest: { deleteMany: async (filter: unknown) => deletes.push(filter) } } as unknown as Models;
  let now = Date.parse('2030-01-02T00:00:00Z');
  const engine = new Engine(fakeEngineDeps({ models, clock: () => now }));
  await engine.tick();
  assert.deepEqual(deletes, [{ createdAt: { $lt: new Date('2030-01-01T00:00:00Z') } }]);
  now += 60_000;
  await engine.tick();
  assert.equal(deletes.length, 1, 'not again within the hour');
  now += 3_600_000;
  await engine.tick();
  assert.equal(deletes.length, 2, 'again an hour later');
  await engine.stop();
});

test("a completed plan's announcements are deleted by the next sweep after its compaction", async () => {
  const plan = testPlan('p-done', 3);
  const runs = Array.from({ length: 3 }, (_, i) => finishedRun(plan._id, `h${i}`, i));
  const deletes: unknown[] = [];
  const compacted: string[] = [];
  const models = endedPlanModels(plan, runs, (filter) => deletes.push(filter));
  const store = {
    loadPlan: async () => runs,
    fencePlans: async () => undefined,
    compact: async (planId: string) => compacted.push(planId),
  } as unknown as RunStore;
  let now = Date.now();
  const engine = new Engine(fakeEngineDeps({ models, runs: store, clock: () => now }));
  await engine.load();
  await engine.tick();
  await engine.compacted();
  assert.deepEqual(compacted, [plan._id], 'the plan ended and was compacted');
  assert.deepEqual(deletes, [{ planId: { $nin: [plan._id] } }], 'while live, its announcements were kept');
  now += 3_600_000;
  await engine.tick();
  assert.deepEqual(deletes.at(-1), { planId: { $nin: [] } }, 'once compacted, they were deleted');
  await engine.stop();
});

test('run tickets are dropped for plans over for ten minutes and holding no versions; never for live ones', async () => {
  const now = Date.parse('2030-01-02T00:00:00Z');
  const dropped: unknown[] = [];
  const models = {
    PlanRequest: { deleteMany: async () => ({}) },
    RunTicket: {
      distinct: async () => ['p-old', 'p-recent', 'p-live', 'p-versions', 'p-gone', 'p-unfinished'],
      deleteMany: async (filter: unknown) => dropped.push(filter),
    },
    RunState: { distinct: async () => ['p-versions'] },
    Plan: {
      find: () => ({
        lean: async () => [
          { _id: 'p-old', finishedAt: new Date(now - 3_600_000) },
          { _id: 'p-recent', finishedAt: new Date(now - 60_000) },
          { _id: 'p-unfinished', finishedAt: null },
        ],
      }),
    },
  } as unknown as Models;
  const housekeeping = new Housekeeping({ models, outbox: { forgetAllBut: async () => undefined }, log: silentLogger() });
  housekeeping.tick(now, () => ['p-live']);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(dropped, [{ planId: { $in: ['p-old', 'p-gone'] } }]);
});
