// Test helpers for the engine's unit tests: a plan document and engine ports faked in
// memory (only what a test overrides does anything).
import { createRegistry, silentLogger } from '@yixing/common';
import type { HostRunDoc, PlanDoc } from '../db/models.ts';
import { pendingRun } from '../host-runs/new-run.ts';
import { createSchedulerMetrics } from '../metrics.ts';
import { withDefaults } from '../plans/plan-spec.ts';
import { defaultEngineConfig, type EngineDeps } from './engine.ts';

export function testPlan(id: string, hostCount: number, overrides: Partial<PlanDoc> = {}): PlanDoc {
  return {
    _id: id,
    name: id,
    spec: withDefaults({ name: id, selector: { pool: 'p' }, profile: 'debian-11-to-12' } as never),
    state: 'running',
    stateReason: '',
    abortMode: null,
    phases: [{ index: 0, name: 'canary', size: hostCount, budget: hostCount }],
    openPhase: 0,
    gate: null,
    budget: hostCount,
    domainLimits: [],
    hostCount,
    createdAt: new Date(),
    updatedAt: new Date(),
    finishedAt: null,
    createdBy: 'test',
    version: 0,
    ...overrides,
  };
}

/** A run of `planId` on `hostId`, pending unless overridden. */
export function testRun(planId: string, hostId: string, order: number, overrides: Partial<HostRunDoc> = {}): HostRunDoc {
  return { ...pendingRun({ planId, hostId, order, phase: 0, cluster: '', zone: '', rack: '' }), ...overrides };
}

/** A run that ended: its slot taken and released. */
export function finishedRun(planId: string, hostId: string, order: number, state: 'succeeded' | 'failed' = 'succeeded'): HostRunDoc {
  const at = new Date();
  return testRun(planId, hostId, order, { state, slots: [{ takenSeq: order, takenAt: at, releasedSeq: order, releasedAt: at }] });
}

/** `run` taken (a new slot) and running `step` (attempt 1 unless overridden), its deadline an hour away. */
export function activeRun(run: HostRunDoc, overrides: Partial<HostRunDoc> = {}, at = Date.now()): HostRunDoc {
  const step = overrides.step ?? 'upgrade';
  const slot = run.slots.length;
  return {
    ...run,
    state: 'active',
    step,
    attempt: 1,
    commandId: `${run.runId}.${slot}.${step}.1`,
    stepState: 'running',
    dispatchedAt: new Date(at),
    stepStartedAt: new Date(at),
    deadlineAt: new Date(at + 3_600_000),
    slots: [...run.slots, { takenSeq: run.order + 1, takenAt: new Date(at), releasedSeq: null, releasedAt: null }],
    ...overrides,
  };
}

/** Engine ports that do nothing; a test passes the ones it needs. */
export function fakeEngineDeps(overrides: Partial<Record<keyof EngineDeps, unknown>> = {}): EngineDeps {
  return {
    models: {},
    runs: {},
    bus: { publishDurable: async () => ({}), request: async () => ({ accepted: true }) },
    inventory: { members: () => new Set<string>(), isAlive: () => true },
    audit: { record: async () => undefined },
    metrics: createSchedulerMetrics(createRegistry('scheduler', { processMetrics: false }), () => []),
    log: silentLogger(),
    clock: Date.now,
    config: defaultEngineConfig,
    ...overrides,
  } as unknown as EngineDeps;
}
