#!/usr/bin/env node
// yx-scheduler: reads and validates configuration, connects to NATS and MongoDB, builds
// the scheduler and serves its API. Fails fast with a clear message.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jetstream } from '@nats-io/jetstream';
import {
  apiEnv,
  busSecurityFromEnv,
  ConfigError,
  connectBus,
  connectDb,
  createLogger,
  createRegistry,
  DEFAULT_LEASE_TIMINGS,
  int,
  LeaderLease,
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
  timingProblems,
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
      YX_SCHEDULER_REPLICA: {
        doc: "this replica's stable name among the scheduler's replicas (a restarted replica takes its own lease back at once)",
        parse: str({ pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/ }),
        default: hostname().slice(0, 64),
      },
      YX_API_URL: {
        doc: 'the URL other replicas and clients reach this API at (told to writers that reach a follower); empty: the listen address',
        parse: str({ pattern: /^(|https?:\/\/\S+)$/ }),
        default: '',
      },
      YX_LEASE_TTL_MS: {
        doc: "how long followers wait, after the leader's last renewal they saw, before one takes over",
        parse: int({ min: 100 }),
        default: DEFAULT_LEASE_TIMINGS.ttlMs,
      },
      YX_LEASE_RENEW_MS: { doc: 'how often the leader renews its lease', parse: int({ min: 10 }), default: DEFAULT_LEASE_TIMINGS.renewMs },
      YX_LEASE_DEADLINE_MS: {
        doc: 'a leader that could not renew for this long stops acting (below YX_LEASE_TTL_MS)',
        parse: int({ min: 20 }),
        default: DEFAULT_LEASE_TIMINGS.renewDeadlineMs,
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
  const leaseTimings = { ttlMs: cfg.YX_LEASE_TTL_MS, renewMs: cfg.YX_LEASE_RENEW_MS, renewDeadlineMs: cfg.YX_LEASE_DEADLINE_MS };
  const leaseProblems = timingProblems(leaseTimings);
  if (leaseProblems.length > 0)
    throw new ConfigError(`YX_LEASE_TTL_MS, YX_LEASE_RENEW_MS, YX_LEASE_DEADLINE_MS: ${leaseProblems.join('; ')}`);
  if (cfg.YX_OPERATION_CALLBACK_URLS.length > 0 && cfg.YX_OPERATION_CALLBACK_SECRET === '')
    throw new ConfigError('YX_OPERATION_CALLBACK_SECRET: required when YX_OPERATION_CALLBACK_URLS is set (callbacks are always signed)');
  const log = createLogger('scheduler', cfg.YX_LOG_LEVEL);
  const access = await loadApiAccess(cfg, log);
  const registry = createRegistry('scheduler');
  const busOptions = { servers: cfg.YX_NATS_URL, ...busSecurityFromEnv(cfg), inboxPrefix: serviceInboxPrefix('scheduler') };
  const nc = await connectBus({ ...busOptions, name: 'yx-scheduler' });
  // The lease has a connection of its own: on the bus's, its renewals queued behind
  // 300,000 agents' registrations, timed out, and the only replica was deposed.
  const leaseNc = await connectBus({ ...busOptions, name: 'yx-scheduler-lease' });
  const conn = await connectDb({ uri: cfg.YX_MONGO_URI, appName: 'yx-scheduler', maxPoolSize: cfg.YX_MONGO_POOL, registry });
  // One replica leads (runs plans, takes writes); the others serve reads and take over.
  const lease = await LeaderLease.open({
    js: jetstream(leaseNc),
    key: 'scheduler',
    holder: `${cfg.YX_SCHEDULER_REPLICA}/${randomUUID()}`,
    replica: cfg.YX_SCHEDULER_REPLICA,
    replicas: cfg.YX_STREAM_REPLICAS,
    log,
    timings: leaseTimings,
  });
  let stop: ((why: string, exitCode?: number) => Promise<void>) | undefined;
  const scheduler = await buildScheduler({
    conn,
    nc,
    log,
    registry,
    clock: Date.now,
    access,
    lease,
    // Deposed or fenced: exit (75, "try again") so that the supervisor starts it again as a follower.
    onDeposed: (reason) => void stop?.(`deposed: ${reason}`, 75),
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
  const address = await scheduler.api.listen({ host: cfg.YX_API_HOST, port: cfg.YX_API_PORT });
  // Listening on every address says nothing to a client: name this host instead.
  lease.advertise(cfg.YX_API_URL || address.replace(/\/\/(0\.0\.0\.0|\[::\])(?=:)/, `//${hostname()}`));
  await scheduler.start();
  const role = lease.isLeader() ? 'leader' : 'follower';
  log.info({ address, role }, 'scheduler ready');
  process.stdout.write(`yx-scheduler ready ${address} ${role}\n`);

  stop = stopOnSignals(
    () => scheduler.stop(),
    () => nc.drain(),
    () => leaseNc.drain(),
    () => conn.close(),
  );
}

runMain('yx-scheduler', main);
