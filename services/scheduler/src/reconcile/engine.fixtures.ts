// Test helpers for the engine's unit tests: a plan document and engine ports faked in
// memory (only what a test overrides does anything).
import { createRegistry, type Step, silentLogger, stepName } from '@yixing/common';
import type { HostRunDoc, Models, PlanDoc } from '../db/models.ts';
import { pendingRun } from '../host-runs/new-run.ts';
import { createSchedulerMetrics } from '../metrics.ts';
import { withDefaults } from '../plans/plan-spec.ts';
import { defaultEngineConfig, Engine, type EngineDeps } from './engine.ts';

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
    inventory: { members: () => new Set<string>(), isAlive: () => true, get: () => undefined },
    audit: { record: async () => undefined },
    metrics: createSchedulerMetrics(createRegistry('scheduler', { processMetrics: false }), () => []),
    log: silentLogger(),
    clock: Date.now,
    config: defaultEngineConfig,
    ...overrides,
  } as unknown as EngineDeps;
}

/** A command the engine sent to an agent: the step it runs, or `cancel <step>`. */
export interface SentToAgent {
  hostId: string;
  runId: string;
  commandId: string;
  what: string;
}

/** The plan collection holding one plan in memory: every conditional write succeeds, a new version. */
export function memoryPlanModel(plan: PlanDoc): { findOneAndUpdate: (filter: unknown, update: { $set: Partial<PlanDoc> }) => unknown } {
  let planDoc = plan;
  return {
    findOneAndUpdate: (_filter: unknown, update: { $set: Partial<PlanDoc> }) => ({
      lean: () => ({
        exec: async () => {
          planDoc = { ...planDoc, ...update.$set, version: planDoc.version + 1 };
          return planDoc;
        },
      }),
    }),
  };
}

/**
 * An engine over in-memory ports and a fake clock: every run and plan write succeeds (a
 * new version), commands to agents are recorded and acknowledged, nothing is compacted.
 */
export function memoryEngine(
  plan: PlanDoc,
  runs: HostRunDoc[],
  at = Date.parse('2030-01-07T10:00:00Z'),
): { engine: Engine; clock: { now: number }; sent: SentToAgent[]; stored: Map<string, HostRunDoc> } {
  const clock = { now: at };
  const sent: SentToAgent[] = [];
  const stored = new Map<string, HostRunDoc>();
  const store = {
    commit: async (before: HostRunDoc, after: HostRunDoc) => {
      const next = { ...after, version: before.version + 1 };
      stored.set(next._id, next);
      return next;
    },
    loadRun: async (key: string) => stored.get(key),
    compact: async () => undefined,
  };
  const Plan = memoryPlanModel(plan);
  const bus = {
    publishDurable: async () => ({}),
    request: async (
      _route: string,
      cmd: { hostId: string; runId: string; commandId: string; action: { case: string; value: { step: Step } } },
    ) => {
      // A cancel names the step it means (the agent stops only that one).
      const step = stepName(cmd.action.value.step);
      const what = cmd.action.case === 'cancelStep' ? `cancel ${step}` : step;
      sent.push({ hostId: cmd.hostId, runId: cmd.runId, commandId: cmd.commandId, what });
      return { accepted: true };
    },
  };
  const models = { Plan, RunAnnounced: { create: async () => ({}) } };
  const engine = new Engine(fakeEngineDeps({ models, runs: store, bus, clock: () => clock.now }));
  engine.addPlan(plan, runs);
  return { engine, clock, sent, stored };
}

/** The plan collection as Engine.load reads and fences it: `plans` found, each fence a new version. */
export function loadablePlans(plans: PlanDoc[]): Pick<Models['Plan'], 'find' | 'findOneAndUpdate'> {
  return {
    find: () => ({ lean: async () => plans }),
    findOneAndUpdate: (filter: { _id: string }, update: { $set: Partial<PlanDoc> }) => ({
      lean: () => ({
        exec: async () => {
          const plan = plans.find((p) => p._id === filter._id) as PlanDoc;
          return { ...plan, ...update.$set, version: plan.version + 1 };
        },
      }),
    }),
  } as unknown as Pick<Models['Plan'], 'find' | 'findOneAndUpdate'>;
}

/**
 * Models for one plan whose runs are all final: the engine loads it, ends it on its first
 * tick and compacts it. `onDeleteAnnouncements` sees the sweeps of run_announcements.
 */
export function endedPlanModels(
  plan: PlanDoc,
  runs: HostRunDoc[],
  onDeleteAnnouncements: (filter: unknown) => unknown = () => ({}),
): Models {
  return {
    Plan: {
      find: () => ({ lean: async () => [plan] }),
      findOneAndUpdate: (_filter: unknown, update: { $set: Partial<PlanDoc> }) => ({
        lean: () => ({ exec: async () => ({ ...plan, ...update.$set, version: plan.version + 1 }) }),
      }),
    },
    RunState: { distinct: async () => [] },
    RunAnnounced: {
      find: () => ({ lean: async () => runs.map((r) => ({ _id: r.runId })) }),
      deleteMany: async (filter: unknown) => onDeleteAnnouncements(filter),
    },
    PlanRequest: { deleteMany: async () => ({}) },
  } as unknown as Models;
}
