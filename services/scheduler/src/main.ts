#!/usr/bin/env node
// yx-scheduler: reads and validates configuration, connects to NATS and MongoDB, builds
// the scheduler and serves its API. Fails fast with a clear message.
import {
  apiEnv,
  busSecurityFromEnv,
  ConfigError,
  connectBus,
  connectDb,
  createLogger,
  createRegistry,
  int,
  list,
  logEnv,
  mongoEnv,
  natsEnv,
  readEnv,
  runMain,
  serviceInboxPrefix,
  stopOnSignals,
  str,
  streamEnv,
} from '@yixing/common';
import { apiAuthChecks, apiAuthEnv, loadApiAccess } from '@yixing/common/http';
import { DEFAULT_MAX_EVENT_STREAMS } from './api/event-stream.ts';
import { buildScheduler } from './app.ts';
import { PROBE_TARGET_PATTERNS } from './plans/plan.service.ts';
import { defaultEngineConfig } from './reconcile/engine.ts';

async function main(): Promise<void> {
  const d = defaultEngineConfig;
  const cfg = readEnv(
    {
      ...natsEnv,
      ...mongoEnv,
      ...apiEnv(8080),
      ...apiAuthEnv,
      ...logEnv,
      ...streamEnv,
      YX_CLUSTER_PROBE_TARGETS: {
        doc: 'cluster probe targets plans may name, comma separated: host:port (tcp) or http(s) URLs; empty: plans cannot probe',
        parse: list({ pattern: new RegExp(`${PROBE_TARGET_PATTERNS.tcp.source}|${PROBE_TARGET_PATTERNS.http.source}`) }),
        default: [] as string[],
      },
      YX_OPERATION_CALLBACK_URLS: {
        doc: 'URL prefixes operations may ask callbacks to (the registered receivers of operations platforms), comma separated; empty: no callbacks',
        parse: list({ pattern: /^https?:\/\/\S+$/ }),
        default: [] as string[],
      },
      YX_OPERATION_CALLBACK_SECRET: {
        doc: 'the HMAC-SHA256 key operation callbacks are signed with (X-Yixing-Signature: t=<s>,v1=<hex>); required with YX_OPERATION_CALLBACK_URLS',
        parse: str({ pattern: /^\S{16,}$/ }),
        default: '',
      },
      YX_API_MAX_EVENT_STREAMS: {
        doc: 'event streams (GET /v1/plans/<id>/events) served at once; the next is refused with 429',
        parse: int({ min: 1, max: 100_000 }),
        default: DEFAULT_MAX_EVENT_STREAMS,
      },
      YX_TICK_MS: { doc: 'reconciliation interval', parse: int({ min: 10, max: 60_000 }), default: d.tickMs },
      YX_HEARTBEAT_GRACE_MS: { doc: 'silence after which a host is unreachable', parse: int({ min: 100 }), default: d.heartbeatGraceMs },
      YX_UNREACHABLE_AFTER_MS: {
        doc: 'unacknowledged command time after which a host is unreachable',
        parse: int({ min: 100 }),
        default: d.unreachableAfterMs,
      },
      YX_REDISPATCH_MS: { doc: 'interval between re-sends of an unacknowledged command', parse: int({ min: 50 }), default: d.redispatchMs },
      YX_DEADLINE_GRACE_MS: {
        doc: 'added to step timeouts before the scheduler gives up',
        parse: int({ min: 0 }),
        default: d.deadlineGraceMs,
      },
      YX_CLUSTER_DEFER_MS: {
        doc: 'wait before a host whose cluster was not ready is tried again',
        parse: int({ min: 0 }),
        default: d.clusterCheckDeferMs,
      },
      YX_BACKUP_STATUS_POLL_MS: {
        doc: 'how often a host waiting for its backup asks the backup service',
        parse: int({ min: 100 }),
        default: d.backupStatusPollMs,
      },
      YX_ANNOUNCE_RETRY_MS: {
        doc: 'how often a RunFinished event the stream did not acknowledge is sent again',
        parse: int({ min: 100 }),
        default: d.announceRetryMs,
      },
      YX_COMMAND_TIMEOUT_MS: {
        doc: 'how long to wait for an agent to acknowledge a command',
        parse: int({ min: 50 }),
        default: d.commandTimeoutMs,
      },
    },
    process.env,
    apiAuthChecks,
  );
  if (cfg.YX_OPERATION_CALLBACK_URLS.length > 0 && cfg.YX_OPERATION_CALLBACK_SECRET === '')
    throw new ConfigError('YX_OPERATION_CALLBACK_SECRET: required when YX_OPERATION_CALLBACK_URLS is set (callbacks are always signed)');
  const log = createLogger('scheduler', cfg.YX_LOG_LEVEL);
  const access = await loadApiAccess(cfg, log);
  const registry = createRegistry('scheduler');
  const nc = await connectBus({
    servers: cfg.YX_NATS_URL,
    name: 'yx-scheduler',
    ...busSecurityFromEnv(cfg),
    inboxPrefix: serviceInboxPrefix('scheduler'),
  });
  const conn = await connectDb({ uri: cfg.YX_MONGO_URI, appName: 'yx-scheduler', maxPoolSize: cfg.YX_MONGO_POOL, registry });
  const scheduler = await buildScheduler({
    conn,
    nc,
    log,
    registry,
    clock: Date.now,
    access,
    config: {
      streamReplicas: cfg.YX_STREAM_REPLICAS,
      probeTargets: cfg.YX_CLUSTER_PROBE_TARGETS,
      callbacks: { allowedPrefixes: cfg.YX_OPERATION_CALLBACK_URLS, secret: cfg.YX_OPERATION_CALLBACK_SECRET },
      maxEventStreams: cfg.YX_API_MAX_EVENT_STREAMS,
      engine: {
        tickMs: cfg.YX_TICK_MS,
        heartbeatGraceMs: cfg.YX_HEARTBEAT_GRACE_MS,
        unreachableAfterMs: cfg.YX_UNREACHABLE_AFTER_MS,
        redispatchMs: cfg.YX_REDISPATCH_MS,
        deadlineGraceMs: cfg.YX_DEADLINE_GRACE_MS,
        clusterCheckDeferMs: cfg.YX_CLUSTER_DEFER_MS,
        commandTimeoutMs: cfg.YX_COMMAND_TIMEOUT_MS,
        backupStatusPollMs: cfg.YX_BACKUP_STATUS_POLL_MS,
        announceRetryMs: cfg.YX_ANNOUNCE_RETRY_MS,
      },
    },
  });
  await scheduler.start();
  const address = await scheduler.api.listen({ host: cfg.YX_API_HOST, port: cfg.YX_API_PORT });
  log.info({ address }, 'scheduler ready');
  process.stdout.write(`yx-scheduler ready ${address}\n`);

  stopOnSignals(
    () => scheduler.stop(),
    () => nc.drain(),
    () => conn.close(),
  );
}

runMain('yx-scheduler', main);
