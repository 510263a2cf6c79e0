// The engine's RunFinished outbox after an outage: thousands of unannounced runs must not
// become thousands of concurrent publishes (each retries for up to a minute).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Models } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { fakeEngineDeps, finishedRun, loadablePlans, testPlan } from './engine.fixtures.ts';
import { Engine } from './engine.ts';

test('after an outage the engine announces at most 64 RunFinished at once', async () => {
  const plan = testPlan('p-outage', 300);
  const runs = Array.from({ length: 300 }, (_, i) => finishedRun(plan._id, `h${i}`, i));
  const models = {
    Plan: loadablePlans([plan]),
    RunState: { distinct: async () => [] },
    RunAnnounced: { find: () => ({ lean: async () => [] }), create: async () => ({}) },
  } as unknown as Models;
  const pending: (() => void)[] = [];
  let inFlight = 0;
  let most = 0;
  const bus = {
    publishDurable: () => {
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise((resolve) =>
        pending.push(() => {
          inFlight--;
          resolve({});
        }),
      );
    },
  };
  const engine = new Engine(
    fakeEngineDeps({ models, bus, runs: { loadPlan: async () => runs, fencePlans: async () => undefined } as unknown as RunStore }),
  );
  await engine.load();
  await engine.tick();
  assert.equal(most, 64, 'publishes in flight after one tick');
  for (const release of pending.splice(0, 10)) release();
  await new Promise((resolve) => setImmediate(resolve));
  await engine.tick();
  assert.equal(inFlight, 64, 'freed room is used again');
  assert.equal(most, 64, 'never more than 64 at once');
  for (const release of pending.splice(0)) release();
  await engine.stop();
});
