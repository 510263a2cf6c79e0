// Builds the scheduler from injected parts: connections, logger, registry, clock and
// configuration. main.ts wires real ones; tests wire their own.
import type { NatsConnection } from '@nats-io/transport-node';
import { Bus, defaultStreamLimits, ensureIndexes, ensureStreams, type Logger, type Registry } from '@yixing/common';
import type { ApiAccess } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mongoose';
import { buildApi } from './api/server.ts';
import { AuditLog } from './audit/audit-log.ts';
import { type Models, registerModels } from './db/models.ts';
import { RunStore } from './db/run-store.ts';
import { StepEventConsumer } from './events/step-event.consumer.ts';
import { Inventory } from './inventory/inventory.ts';
import { createSchedulerMetrics } from './metrics.ts';
import { PlanService } from './plans/plan.service.ts';
import { Engine, type EngineConfig } from './reconcile/engine.ts';

export interface SchedulerConfig {
  engine: EngineConfig;
  streamReplicas: number;
  bodyLimit?: number;
  /** Event streams the API serves at once. */
  maxEventStreams?: number;
  lastSeenFlushMs?: number;
  /** The cluster probe targets plans may name; none: plans cannot probe. */
  probeTargets?: readonly string[];
}

export interface SchedulerDeps {
  conn: Connection;
  nc: NatsConnection;
  log: Logger;
  registry: Registry;
  clock: () => number;
  config: SchedulerConfig;
  /** Who may call the API: authentication, rate limits and, when set, TLS. */
  access: ApiAccess;
}

export interface Scheduler {
  api: FastifyInstance;
  runs: RunStore;
  engine: Engine;
  inventory: Inventory;
  plans: PlanService;
  models: Models;
  bus: Bus;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function buildScheduler(deps: SchedulerDeps): Promise<Scheduler> {
  const { conn, nc, log, registry, clock, config } = deps;
  const models = registerModels(conn);
  await ensureIndexes(conn);
  await ensureStreams(nc, { ...defaultStreamLimits, replicas: config.streamReplicas });
  const bus = new Bus({ nc, log, registry });
  const inventory = new Inventory({
    models,
    bus,
    log,
    clock,
    ...(config.lastSeenFlushMs ? { lastSeenFlushMs: config.lastSeenFlushMs } : {}),
  });
  await inventory.load();
  const audit = new AuditLog(models, clock);
  let engineRef: Engine | undefined;
  const metrics = createSchedulerMetrics(registry, () =>
    [...(engineRef?.plans.values() ?? [])].map((rt) => ({
      id: rt.plan._id,
      inFlight: rt.counters.inFlight,
      failures: rt.counters.failures,
      state: rt.plan.state,
    })),
  );
  const runs = new RunStore(models);
  const engine = new Engine({ models, runs, bus, inventory, audit, metrics, log, clock, config: config.engine });
  engineRef = engine;
  const plans = new PlanService({ models, runs, engine, inventory, audit, log, clock, probeTargets: config.probeTargets ?? [] });
  const orphans = await plans.deleteOrphanRuns();
  if (orphans > 0) log.warn({ orphans }, 'deleted the runs of plans that were never created');
  // Load live plans before consuming events: an event must find its run.
  await engine.load();
  const consumer = new StepEventConsumer({ bus, engine, log, metrics });
  const api = await buildApi({
    models,
    runs,
    engine,
    plans,
    inventory,
    audit,
    bus,
    registry,
    heartbeatGraceMs: config.engine.heartbeatGraceMs,
    access: deps.access,
    ...(config.bodyLimit ? { bodyLimit: config.bodyLimit } : {}),
    ...(config.maxEventStreams ? { maxEventStreams: config.maxEventStreams } : {}),
  });
  return {
    api,
    runs,
    engine,
    inventory,
    plans,
    models,
    bus,
    async start() {
      inventory.start();
      await consumer.start();
      engine.start();
    },
    async stop() {
      await engine.stop();
      await consumer.stop();
      await inventory.stop();
      await api.close();
    },
  };
}
