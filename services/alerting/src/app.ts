// Builds the alerting service from injected parts: the event consumer (rules → stored
// alerts), the control-plane watch, the dispatcher (stored alerts → grouped notifications,
// claimed in the notification log, delivered per integration), and the API.
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  Bus,
  catalog,
  defaultStreamLimits,
  durableNames,
  ensureIndexes,
  ensureStreams,
  type Logger,
  type Registry,
  streams,
} from '@yixing/common';
import type { ApiAccess } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mongoose';
import { buildAlertingApi } from './api/alerting.routes.ts';
import { type AlertingConfig, DEFAULT_RATE_LIMITS } from './config/alerting-config.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './delivery/backoff.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import { AlertEventsConsumer } from './events/alert-events.consumer.ts';
import { AlertIntake } from './ingest/alert-intake.service.ts';
import { DEFAULT_PUSH_RESOLVE_TIMEOUT_MS } from './ingest/postable-alerts.ts';
import { type AlertingMetrics, alertingMetrics } from './metrics.ts';
import { pagerDutyDedupKey } from './receivers/pagerduty.receiver.ts';
import { alertsOfControlPlane, CONTROL_PLANE_CLEAR, type ConsumerSample, type ControlPlaneMemory } from './rules/alert-rules.ts';
import { AlertStore } from './store/alert.store.ts';
import { NotificationLog } from './store/notification-log.store.ts';
import { SilenceStore } from './store/silence.store.ts';

export interface AlertingAppConfig {
  alerting: AlertingConfig;
  /** YX_CONSOLE_URL: links are it joined with each alert's path. */
  consoleUrl: string;
  tickMs: number;
  leaseMs: number;
  /** How often the scheduler's consumer is looked at (SchedulerDown, EventsBacklog). */
  controlPlaneSampleMs: number;
  attemptTimeoutMs: number;
  retry?: RetryPolicy;
  /** PagerDuty webhook signing secrets; empty: the back channel is off. */
  pagerDutySecrets: string[];
  streamReplicas: number;
  /** Resolved alerts kept (API, history) this long. */
  historyMs: number;
  /** Who may push alerts (POST /api/v2/alerts, Prometheus); absent: nobody. */
  ingestIdentities?: readonly string[];
}

export interface AlertingAppDeps {
  conn: Connection;
  nc: NatsConnection;
  log: Logger;
  registry: Registry;
  clock: () => number;
  access: ApiAccess;
  config: AlertingAppConfig;
  replicaId?: string;
}

export interface AlertingApp {
  api: FastifyInstance;
  alerts: AlertStore;
  silences: SilenceStore;
  dispatcher: Dispatcher;
  metrics: AlertingMetrics;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The dispatcher keeps resolved alerts in view this long: their resolved notification may wait on group_interval. */
const RESOLVED_IN_VIEW_MS = 86_400_000;

export async function buildAlertingApp(deps: AlertingAppDeps): Promise<AlertingApp> {
  const { nc, log, registry, config, clock } = deps;
  const alerts = new AlertStore(deps.conn, clock);
  const silences = new SilenceStore(deps.conn, clock);
  await ensureIndexes(deps.conn);
  await ensureStreams(nc, { ...defaultStreamLimits, replicas: config.streamReplicas });
  const js = jetstream(nc, { timeout: 30_000 });
  const bus = new Bus({ nc, log, registry });
  const metrics = alertingMetrics(registry);
  const nflog = await NotificationLog.open(js, log, config.streamReplicas);
  const events = new AlertEventsConsumer({
    nc,
    js,
    bus,
    alerts,
    rules: config.alerting.rules,
    logTailLines: config.alerting.logTailLines,
    log,
    metrics,
  });
  const dispatcher = new Dispatcher({
    alerts,
    silences,
    nflog,
    routing: config.alerting.routing,
    receivers: config.alerting.receivers.map((r) => ({
      name: r.name,
      integrations: r.integrations.map((receiver) => ({ receiver, rateLimit: DEFAULT_RATE_LIMITS[receiver.kind] })),
    })),
    bus,
    metrics,
    log,
    clock,
    config: {
      consoleUrl: config.consoleUrl,
      tickMs: config.tickMs,
      leaseMs: config.leaseMs,
      retry: config.retry ?? DEFAULT_RETRY_POLICY,
      attemptTimeoutMs: config.attemptTimeoutMs,
      resolvedKeepMs: RESOLVED_IN_VIEW_MS,
    },
    ...(deps.replicaId ? { replicaId: deps.replicaId } : {}),
  });

  // PagerDuty acknowledgements and resolutions come back to the alerts of the incident's group.
  const pagerDutyTargets = new Set(
    config.alerting.receivers
      .flatMap((r) => r.integrations.map((i, n) => (i.kind === 'pagerduty' ? `${r.name}/${n}` : '')))
      .filter(Boolean),
  );
  const intake = new AlertIntake({ alerts, metrics, log, clock, resolveTimeoutMs: DEFAULT_PUSH_RESOLVE_TIMEOUT_MS });
  const api = await buildAlertingApi({
    alerts,
    silences,
    registry,
    access: deps.access,
    consoleUrl: config.consoleUrl,
    clock,
    intake: { identities: config.ingestIdentities ?? [], take: (posted, by) => intake.take(posted, by) },
    ...(config.pagerDutySecrets.length > 0
      ? {
          pagerDuty: {
            secrets: config.pagerDutySecrets,
            async onAction({ action, dedupKey, actor }) {
              if (action === 'unacknowledge') return; // an acknowledgement only ends with its episode
              for (const [, { record }] of nflog.all()) {
                if (!pagerDutyTargets.has(record.target) || pagerDutyDedupKey(record.receiver, record.groupKey) !== dedupKey) continue;
                for (const fp of record.firing) {
                  if (action === 'acknowledge') await alerts.acknowledge(fp, `pagerduty:${actor}`);
                  else await alerts.resolve(fp, `pagerduty:${actor}`);
                }
              }
            },
          },
        }
      : {}),
  });

  // The control plane: is a scheduler pulling step events, and how far behind is it.
  let memory: ControlPlaneMemory = CONTROL_PLANE_CLEAR;
  let sampler: NodeJS.Timeout | undefined;
  let sampling: Promise<void> | undefined;
  let housekeeping: NodeJS.Timeout | undefined;
  let expiry: NodeJS.Timeout | undefined;
  let expiring: Promise<void> | undefined;
  let jsm: JetStreamManager | undefined;
  const sample = async (): Promise<void> => {
    // One manager for every sample: making one asks the server for the account's info.
    jsm ??= await jetstreamManager(nc, { timeout: 10_000 });
    const at = clock();
    const info = await jsm.consumers.info(streams[catalog.stepEvent.stream].name, durableNames.schedulerSteps).catch(() => null);
    const s: ConsumerSample = info
      ? { at, found: true, pullsWaiting: info.num_waiting, backlog: info.num_pending + info.num_ack_pending }
      : { at, found: false };
    const next = alertsOfControlPlane(memory, s, config.alerting.rules);
    memory = next.memory;
    await events.apply(next.changes);
    metrics.events.inc({ source: 'control', outcome: next.changes.some((c) => c.op === 'fire') ? 'applied' : 'ignored' });
  };

  return {
    api,
    alerts,
    silences,
    dispatcher,
    metrics,
    async start() {
      await nflog.start();
      await events.start();
      dispatcher.start();
      sampler = setInterval(() => {
        sampling = sample().catch((err: Error) => log.warn({ err: err.message }, 'control-plane sample failed'));
      }, config.controlPlaneSampleMs);
      housekeeping = setInterval(() => {
        alerts
          .forgetResolvedBefore(clock() - config.historyMs)
          .catch((err: Error) => log.warn({ err: err.message }, 'alert history not trimmed'));
      }, 3_600_000);
      housekeeping.unref();
      // Pushed alerts not sent again resolve at their endsAt: looked for every tick.
      expiry = setInterval(() => {
        expiring ??= intake
          .expire()
          .catch((err: Error) => log.warn({ err: err.message }, 'pushed alerts not expired'))
          .finally(() => {
            expiring = undefined;
          });
      }, config.tickMs);
    },
    async stop() {
      clearInterval(sampler);
      clearInterval(housekeeping);
      clearInterval(expiry);
      await Promise.all([sampling, expiring]);
      await events.stop();
      await dispatcher.stop();
      await nflog.stop();
      await api.close();
    },
  };
}
