// Builds the scheduler from injected parts: connections, logger, registry, clock and
// configuration. main.ts wires real ones; tests wire their own.
import type { NatsConnection } from '@nats-io/transport-node';
import {
  Bus,
  defaultStreamLimits,
  ensureIndexes,
  ensureStreams,
  type FencedError,
  type LeaderLease,
  type Logger,
  type Registry,
} from '@yixing/common';
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
import { OperationService } from './operations/operation.service.ts';
import { type CallbackConfig, OperationCallbacks } from './operations/operation-callbacks.ts';
import { PlanService } from './plans/plan.service.ts';
import { Engine, type EngineConfig } from './reconcile/engine.ts';
import { type Leader, soleLeader } from './reconcile/leader.ts';

export interface SchedulerConfig {
  engine: EngineConfig;
  streamReplicas: number;
  bodyLimit?: number;
  /** Event streams the API serves at once. */
  maxEventStreams?: number;
  lastSeenFlushMs?: number;
  /** The cluster probe targets plans may name; none: plans cannot probe. */
  probeTargets?: readonly string[];
  /** Where operations may ask for callbacks, and how they are signed and retried; absent: no callbacks. */
  callbacks?: Partial<CallbackConfig>;
}

const DEFAULT_CALLBACKS: CallbackConfig = {
  allowedPrefixes: [],
  secret: '',
  timeoutMs: 10_000,
  backoffMs: { first: 1_000, max: 300_000 },
  maxAttempts: 20,
};

export interface SchedulerDeps {
  conn: Connection;
  nc: NatsConnection;
  log: Logger;
  registry: Registry;
  clock: () => number;
  config: SchedulerConfig;
  /** Who may call the API: authentication, rate limits and, when set, TLS. */
  access: ApiAccess;
  /**
   * The leader lease this replica campaigns for (absent: it runs alone and leads). Only
   * the leader runs plans, consumes step events and takes writes; a follower serves reads.
   */
  lease?: Pick<LeaderLease, 'isLeader' | 'epoch' | 'leaderHint' | 'on' | 'start' | 'stop' | 'firstLook'>;
  /** This replica stopped leading (deposed or fenced): it must stop; main exits so that it restarts as a follower. */
  onDeposed?: (reason: string) => void;
}

export interface Scheduler {
  api: FastifyInstance;
  runs: RunStore;
  engine: Engine;
  inventory: Inventory;
  plans: PlanService;
  operations: OperationService;
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
  let engineRef: Engine | undefined;
  const metrics = createSchedulerMetrics(registry, () =>
    [...(engineRef?.plans.values() ?? [])].map((rt) => ({
      id: rt.plan._id,
      inFlight: rt.counters.inFlight,
      failures: rt.counters.failures,
      budget: rt.plan.budget,
      state: rt.plan.state,
      hosts: rt.counters,
      failuresByKind: rt.counters.failuresByKind,
      waves: rt.phases.map((ph, i) => ({ name: rt.plan.phases[i]?.name ?? String(i), size: ph.size, started: ph.started })),
    })),
  );
  const leader: Leader = deps.lease ?? soleLeader;
  const inventory = new Inventory({
    models,
    bus,
    log,
    clock,
    leads: () => leader.isLeader(),
    ...(config.lastSeenFlushMs ? { lastSeenFlushMs: config.lastSeenFlushMs } : {}),
    onHeartbeat: (missed) => {
      metrics.heartbeatsReceived.inc();
      if (missed > 0) metrics.heartbeatsMissed.inc(missed);
    },
  });
  await inventory.load();
  const audit = new AuditLog(models, clock);
  let deposed: ((reason: string) => void) | undefined;
  const runs = new RunStore(models, {
    epoch: () => leader.epoch(),
    onFenced: (err: FencedError) => deposed?.(`fenced: ${err.message}`),
  });
  const engine = new Engine({ models, runs, bus, inventory, audit, metrics, log, clock, config: config.engine, leader });
  engineRef = engine;
  const plans = new PlanService({ models, runs, engine, inventory, audit, log, clock, probeTargets: config.probeTargets ?? [] });
  const consumer = new StepEventConsumer({ bus, engine, log, metrics });
  const operations = new OperationService({
    models,
    runs,
    plans,
    engine,
    inventory,
    bus,
    requestTimeoutMs: config.engine.commandTimeoutMs,
  });
  const callbackConfig: CallbackConfig = { ...DEFAULT_CALLBACKS, ...config.callbacks };
  const callbacks = new OperationCallbacks({
    bus,
    log,
    clock,
    config: callbackConfig,
    callbackOf: async (operationId) => {
      const plan = engine.runtime(operationId)?.plan ?? (await models.Plan.findById(operationId, { operation: 1 }).lean());
      return plan?.operation?.callbackUrl ?? '';
    },
    count: (result) => metrics.operationCallbacks.inc({ result }),
  });
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
    leader,
    operations,
    callbacks: callbackConfig,
    ...(config.bodyLimit ? { bodyLimit: config.bodyLimit } : {}),
    ...(config.maxEventStreams ? { maxEventStreams: config.maxEventStreams } : {}),
  });
  let acting = false;
  /** The leader's part: fence and load the live plans, then consume events and run them. */
  async function takeOver(): Promise<void> {
    const orphans = await plans.deleteOrphanRuns();
    if (orphans > 0) log.warn({ orphans }, 'deleted the runs of plans that were never created');
    // Load live plans before consuming events: an event must find its run.
    await engine.load();
    acting = true;
    await consumer.start();
    await callbacks.start();
    engine.start();
  }
  async function stopActing(): Promise<void> {
    if (!acting) return;
    acting = false;
    await engine.stop();
    await consumer.stop();
    await callbacks.stop();
  }
  let deposing = false;
  /** No longer the leader: stop acting at once; the process is then stopped (onDeposed). */
  function depose(reason: string): void {
    if (deposing) return;
    deposing = true;
    log.error({ reason }, 'no longer the leader: stopping');
    stopActing()
      .catch((err: Error) => log.error({ err: err.message }, 'stopping after deposition failed'))
      .finally(() => deps.onDeposed?.(reason));
  }
  deposed = depose;

  return {
    api,
    runs,
    engine,
    inventory,
    plans,
    operations,
    models,
    bus,
    /** Resolves once this replica knows its role; a leader, once it has taken over. */
    async start() {
      inventory.start();
      if (!deps.lease) return takeOver();
      const lease = deps.lease;
      let tookOver: Promise<void> | undefined;
      lease.on('elected', (epoch) => {
        log.info({ epoch }, 'leading: taking over the plans');
        tookOver = takeOver();
        tookOver.catch((err: Error) => depose(`take-over failed: ${err.message}`));
      });
      lease.on('deposed', (reason) => depose(reason));
      lease.start();
      if ((await lease.firstLook()) === 'leader') await tookOver;
    },
    async stop() {
      // Nothing more is written before the lease is let go (a follower takes over at once).
      await stopActing();
      await deps.lease?.stop();
      await inventory.stop();
      await api.close();
    },
  };
}
