// The engine's admission reads each host's size from the inventory and starts the longest
// predicted first (reconcile/duration-prediction.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostRunDoc } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { fakeEngineDeps, testPlan, testRun } from './engine.fixtures.ts';
import { Engine } from './engine.ts';

test('the engine takes the host predicted longest first, from the sizes its agents registered', async () => {
  const taken: string[] = [];
  const runs = {
    commit: async (before: HostRunDoc, after: HostRunDoc) => {
      if (after.state === 'active' && before.state === 'pending') taken.push(after.hostId);
      return { ...after, version: before.version + 1 };
    },
  } as unknown as RunStore;
  const GiB = 1024 ** 3;
  const sizes: Record<string, { packageCount: number; installedBytes: number; diskUsedBytes: number }> = {
    h0: { packageCount: 200, installedBytes: 0.5 * GiB, diskUsedBytes: 2 * GiB },
    h1: { packageCount: 3000, installedBytes: 12 * GiB, diskUsedBytes: 80 * GiB },
    h2: { packageCount: 900, installedBytes: 3 * GiB, diskUsedBytes: 20 * GiB },
  };
  const inventory = {
    members: () => new Set<string>(),
    isAlive: () => true,
    get: (hostId: string) => ({ facts: { roles: [], ...sizes[hostId] } }),
  };
  const engine = new Engine(fakeEngineDeps({ runs, inventory }));
  const plan = testPlan('p', 3);
  plan.spec = { ...plan.spec, limits: { maxInFlight: 1 } };
  engine.addPlan(
    plan,
    ['h0', 'h1', 'h2'].map((h, i) => testRun('p', h, i)),
  );
  await engine.tick();
  await engine.stop();
  assert.deepEqual(taken, ['h1'], 'h0 is first in the plan’s order; h1 is the largest');
});
