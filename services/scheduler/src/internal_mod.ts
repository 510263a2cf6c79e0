// Internal surface of @yixing/scheduler (`@yixing/scheduler/internal`), for the tests in
// tests/ that reach below the public one: its parts, views and stores. Not for services.

export type { PlanView, RunView } from './api/views.ts';
export { AuditLog } from './audit/audit-log.ts';
export { type Models, registerModels } from './db/models.ts';
export { RunStore } from './db/run-store.ts';
export { pendingRun } from './host-runs/new-run.ts';
export * from './mod.ts';
export { PlanService } from './plans/plan.service.ts';
export { withDefaults } from './plans/plan-spec.ts';
export { lastAssessments } from './plans/reassessment.ts';
export { lognormalWorkload } from './plans/replay-workload.ts';
export {
  batchBarrierSeconds,
  exponentialRampSeconds,
  gatedLowerBoundSeconds,
  lowerBoundSeconds,
  type ReplayHost,
  replayPlan,
  replaySchedule,
} from './plans/schedule-replay.ts';
export { predictSeconds, sizeOfFacts } from './reconcile/duration-prediction.ts';
export type { Engine } from './reconcile/engine.ts';
