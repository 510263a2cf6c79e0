#!/usr/bin/env node
// yx-alerting: reads and checks its configuration (the alerting file included: every
// problem at once), connects to NATS and MongoDB, and runs the rules, the dispatcher and
// the API. Run two or more for availability: the notification log makes each
// notification go out once.
import {
  apiEnv,
  busSecurityFromEnv,
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
import { buildAlertingApp } from './app.ts';
import { loadAlertingConfig } from './config/alerting-config.ts';
import { DEFAULT_RETRY_POLICY } from './delivery/backoff.ts';

async function main(): Promise<void> {
  const cfg = readEnv(
    {
      ...natsEnv,
      ...mongoEnv,
      ...apiEnv(8083),
      ...apiAuthEnv,
      ...logEnv,
      ...streamEnv,
      YX_ALERTING_CONFIG: {
        doc: 'alerting configuration file (YAML or JSON): route, receivers, inhibit_rules, rules',
        parse: str(),
        default: '',
      },
      YX_CONSOLE_URL: {
        doc: 'the console, for links: <url>/plans/<plan>/hosts/<host>/steps/<step>',
        parse: str({ pattern: /^https?:\/\/[^\s]+[^/\s]$/ }),
        default: 'http://127.0.0.1:8080',
      },
      YX_ALERTING_TICK_MS: { doc: 'how often the dispatcher looks at the alerts', parse: int({ min: 50, max: 60_000 }), default: 1_000 },
      YX_ALERTING_LEASE_MS: {
        doc: 'a replica’s claim on a delivery holds this long unless renewed',
        parse: int({ min: 1_000 }),
        default: 30_000,
      },
      YX_ALERTING_SAMPLE_MS: { doc: 'how often the scheduler’s consumer is looked at', parse: int({ min: 100 }), default: 15_000 },
      YX_ALERTING_ATTEMPT_TIMEOUT_MS: { doc: 'one delivery attempt’s time limit', parse: int({ min: 100 }), default: 10_000 },
      YX_ALERTING_RETRY_BASE_MS: {
        doc: 'the first retry waits up to this long',
        parse: int({ min: 1 }),
        default: DEFAULT_RETRY_POLICY.baseMs,
      },
      YX_ALERTING_RETRY_MAX_MS: {
        doc: 'no retry waits longer (but for a Retry-After)',
        parse: int({ min: 1 }),
        default: DEFAULT_RETRY_POLICY.maxMs,
      },
      YX_ALERTING_HISTORY_DAYS: { doc: 'days resolved alerts are kept', parse: int({ min: 1, max: 3650 }), default: 30 },
      YX_ALERTING_INGEST_IDENTITIES: {
        doc: 'identities (API token names, OIDC subjects) that may push alerts to POST /api/v2/alerts, comma separated: Prometheus’s',
        parse: list(),
        default: ['prometheus'],
      },
      YX_PAGERDUTY_WEBHOOK_SECRETS: {
        doc: 'PagerDuty webhook signing secrets, comma separated (two during a rotation)',
        parse: list(),
        default: [],
      },
    },
    process.env,
    apiAuthChecks,
  );
  const alerting = await loadAlertingConfig(cfg.YX_ALERTING_CONFIG);
  const log = createLogger('alerting', cfg.YX_LOG_LEVEL);
  const access = await loadApiAccess(cfg, log);
  const registry = createRegistry('alerting');
  const nc = await connectBus({
    servers: cfg.YX_NATS_URL,
    name: 'yx-alerting',
    ...busSecurityFromEnv(cfg),
    inboxPrefix: serviceInboxPrefix('alerting'),
  });
  const conn = await connectDb({ uri: cfg.YX_MONGO_URI, appName: 'yx-alerting', maxPoolSize: cfg.YX_MONGO_POOL, registry });
  const app = await buildAlertingApp({
    conn,
    nc,
    log,
    registry,
    clock: Date.now,
    access,
    config: {
      alerting,
      consoleUrl: cfg.YX_CONSOLE_URL,
      tickMs: cfg.YX_ALERTING_TICK_MS,
      leaseMs: cfg.YX_ALERTING_LEASE_MS,
      controlPlaneSampleMs: cfg.YX_ALERTING_SAMPLE_MS,
      attemptTimeoutMs: cfg.YX_ALERTING_ATTEMPT_TIMEOUT_MS,
      retry: { ...DEFAULT_RETRY_POLICY, baseMs: cfg.YX_ALERTING_RETRY_BASE_MS, maxMs: cfg.YX_ALERTING_RETRY_MAX_MS },
      pagerDutySecrets: cfg.YX_PAGERDUTY_WEBHOOK_SECRETS,
      streamReplicas: cfg.YX_STREAM_REPLICAS,
      historyMs: cfg.YX_ALERTING_HISTORY_DAYS * 86_400_000,
      ingestIdentities: cfg.YX_ALERTING_INGEST_IDENTITIES,
    },
  });
  await app.start();
  const address = await app.api.listen({ host: cfg.YX_API_HOST, port: cfg.YX_API_PORT });
  log.info({ address, replica: app.dispatcher.replicaId, receivers: alerting.receivers.map((r) => r.name) }, 'alerting service ready');
  process.stdout.write(`yx-alerting ready ${address}\n`);
  stopOnSignals(
    () => app.stop(),
    () => nc.drain(),
    () => conn.close(),
  );
}

runMain('yx-alerting', main);
