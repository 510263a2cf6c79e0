// Public surface of @yixing/scheduler, for tests and benchmarks that build it in process.

// What the API answers, for its clients (the console imports these as types only).
export type { PlanSummary } from './api/plan-summaries.ts';
export type { PlanView, RunView } from './api/views.ts';
export { buildScheduler, type Scheduler, type SchedulerConfig } from './app.ts';
export type { FindingKind, HostStatus, NotAssessedReason, PoolReport } from './assessment/pool-report.ts';
export type { HostRunDoc, PlanDoc, PlanState } from './db/models.ts';
export type { InventorySummary } from './inventory/inventory-summary.ts';
export { budgetRoom, orderHosts, planPhases, resolveAmount } from './plans/plan-math.ts';
export type { PlanInput, PlanSpec } from './plans/plan-spec.ts';
export { defaultEngineConfig, type EngineConfig } from './reconcile/engine.ts';
