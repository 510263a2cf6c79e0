// Abort with rollback starts each host's rollback without awaiting it; a database error
// there must be caught and logged: neither lost without a word nor left as an unhandled
// rejection (which ends a Node process by default).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger, UnavailableError } from '@yixing/common';
import type { PlanDoc } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { fakeEngineDeps, testPlan, testRun } from './engine.fixtures.ts';
import { Engine } from './engine.ts';

test('a database error while aborting a host in flight is logged, neither lost nor an unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const plan = testPlan('p-abort', 1, { budget: 1, phases: [{ index: 0, name: 'canary', size: 1, budget: 1 }] });
    const run = testRun(plan._id, 'h1', 0, {
      state: 'active',
      step: 'upgrade',
      attempt: 1,
      commandId: 'c-1',
      stepState: 'running',
      slots: [{ takenSeq: 1, takenAt: new Date(), releasedSeq: null, releasedAt: null }],
    });
    // The plan document moves (a conditional update); the run's next version cannot be stored.
    const Plan = {
      findOneAndUpdate: (_filter: unknown, update: { $set: Partial<PlanDoc> }) => ({
        lean: () => ({ exec: async () => ({ ...plan, ...update.$set, version: plan.version + 1 }) }),
      }),
    };
    const runs = {
      commit: async () => {
        throw new UnavailableError('injected: the database is unreachable');
      },
      loadRun: async () => {
        throw new UnavailableError('injected: the database is unreachable');
      },
    } as unknown as RunStore;
    const errors: string[] = [];
    const log = Object.assign(silentLogger(), { error: (obj: { err?: string }) => errors.push(obj.err ?? '') });
    const engine = new Engine(fakeEngineDeps({ models: { Plan }, runs, log }));
    engine.addPlan(plan, [run]);

    const aborted = await engine.abort(plan._id, 'op', 'rollback');
    assert.equal(aborted.state, 'aborting');
    // Waits for the rollback started in the background; its handlers (if any) have run by then.
    await engine.stop();
    // An unhandled rejection is reported once the microtask queue drains, before the next turn.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    assert.ok(
      errors.some((e) => /database is unreachable/.test(e)),
      `the failure is logged: ${JSON.stringify(errors)}`,
    );
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
