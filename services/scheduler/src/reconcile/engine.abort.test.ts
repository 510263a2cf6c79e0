// Abort with rollback starts each host's rollback without awaiting it; a database error
// there must be caught and logged: neither lost without a word nor left as an unhandled
// rejection (which ends a Node process by default).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRegistry, silentLogger, UnavailableError } from '@yixing/common';
import type { HostRunDoc, Models, PlanDoc } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { pendingRun } from '../host-runs/new-run.ts';
import { createSchedulerMetrics } from '../metrics.ts';
import { withDefaults } from '../plans/plan-spec.ts';
import { defaultEngineConfig, Engine, type EngineDeps } from './engine.ts';

test('a database error while aborting a host in flight is logged, neither lost nor an unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const spec = withDefaults({ name: 'abort', selector: { pool: 'p' }, profile: 'debian-11-to-12' } as never);
    const plan: PlanDoc = {
      _id: 'p-abort',
      name: 'abort',
      spec,
      state: 'running',
      stateReason: '',
      abortMode: null,
      phases: [{ index: 0, name: 'canary', size: 1, budget: 1 }],
      openPhase: 0,
      gate: null,
      budget: 1,
      domainLimits: [],
      hostCount: 1,
      createdAt: new Date(),
      updatedAt: new Date(),
      finishedAt: null,
      createdBy: 'test',
      version: 0,
    };
    const run: HostRunDoc = {
      ...pendingRun({ planId: plan._id, hostId: 'h1', order: 0, phase: 0, cluster: '', zone: '', rack: '' }),
      state: 'active',
      step: 'upgrade',
      attempt: 1,
      commandId: 'c-1',
      stepState: 'running',
      slots: [{ takenSeq: 1, takenAt: new Date(), releasedSeq: null, releasedAt: null }],
    };
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
    const deps = {
      models: { Plan } as unknown as Models,
      runs,
      bus: { publishDurable: async () => ({}), request: async () => ({ accepted: true }) },
      inventory: {},
      audit: { record: async () => undefined },
      metrics: createSchedulerMetrics(createRegistry('scheduler', { processMetrics: false }), () => []),
      log,
      clock: Date.now,
      config: defaultEngineConfig,
    } as unknown as EngineDeps;
    const engine = new Engine(deps);
    engine.addPlan(plan, [run]);

    const aborted = await engine.abort(plan._id, 'op', 'rollback');
    assert.equal(aborted.state, 'aborting');
    await engine.stop(); // waits for the rollback started in the background
    await sleep(200); // an unhandled rejection is reported after the microtask queue drains
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    assert.ok(
      errors.some((e) => /database is unreachable/.test(e)),
      `the failure is logged: ${JSON.stringify(errors)}`,
    );
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
