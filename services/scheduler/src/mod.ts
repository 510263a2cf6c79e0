// Public surface of @yixing/scheduler, for tests and benchmarks that build it in process.
export { buildScheduler, type Scheduler, type SchedulerConfig } from './app.ts';
export type { HostRunDoc, PlanDoc } from './db/models.ts';
export { budgetRoom, orderHosts, planPhases, resolveAmount } from './plans/plan-math.ts';
export type { PlanInput, PlanSpec } from './plans/plan-spec.ts';
export { defaultEngineConfig, type EngineConfig } from './reconcile/engine.ts';
