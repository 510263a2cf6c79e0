#!/usr/bin/env node
// yx-backup: reads and validates configuration (including the sealing key, if any),
// connects to NATS and MongoDB and serves the backup protocol and API.
import {
  apiEnv,
  bool,
  busSecurityFromEnv,
  connectBus,
  connectDb,
  createLogger,
  createRegistry,
  DEFAULT_BACKUP_BUCKET,
  int,
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
import { buildBackupApp } from './app.ts';
import { loadKeys } from './crypto/key-ring.ts';

async function main(): Promise<void> {
  const cfg = readEnv(
    {
      ...natsEnv,
      ...mongoEnv,
      ...apiEnv(8081),
      ...apiAuthEnv,
      ...logEnv,
      ...streamEnv,
      YX_BACKUP_BUCKET: { doc: 'Object Store bucket', parse: str({ pattern: /^[A-Za-z0-9_-]{1,64}$/ }), default: DEFAULT_BACKUP_BUCKET },
      YX_BACKUP_RETENTION_DAYS: { doc: 'days kept after the host-run ended', parse: int({ min: 0, max: 3650 }), default: 30 },
      YX_BACKUP_PLAN_QUOTA_BYTES: { doc: 'bytes a plan may hold; 0 for no quota', parse: int({ min: 0 }), default: 0 },
      YX_BACKUP_UPLOAD_TIMEOUT_MS: { doc: 'an upload not committed by then fails', parse: int({ min: 1000 }), default: 3_600_000 },
      // Verifications follow their uploads, holding a few MiB each: as many as uploads arrive at once.
      YX_BACKUP_VERIFY_CONCURRENCY: { doc: 'backups verified at once', parse: int({ min: 1, max: 64 }), default: 16 },
      YX_BACKUP_SWEEP_MS: { doc: 'interval of the retention sweep', parse: int({ min: 100 }), default: 60_000 },
      YX_BACKUP_KEY_FILE: { doc: 'AES-256 key file (32 bytes, hex or base64) to seal backups with', parse: str(), default: '' },
      YX_BACKUP_KEY: { doc: 'AES-256 key (hex or base64), instead of a file', parse: str(), default: '' },
      YX_BACKUP_KEY_ID: {
        doc: 'id recorded with sealed backups (derived from the key when empty)',
        parse: str({ pattern: /^[A-Za-z0-9_.-]{1,64}$/ }),
        default: '',
      },
      YX_BACKUP_ENCRYPT: { doc: 'seal new backups (needs a key)', parse: bool, default: true },
      YX_BACKUP_RETIRED_KEY_FILES: {
        doc: 'keys that only open older backups after a rotation: path or id=path, comma separated',
        parse: str(),
        default: '',
      },
    },
    process.env,
    apiAuthChecks,
  );
  const keys = await loadKeys({
    keyFile: cfg.YX_BACKUP_KEY_FILE,
    key: cfg.YX_BACKUP_KEY,
    keyId: cfg.YX_BACKUP_KEY_ID,
    encrypt: cfg.YX_BACKUP_ENCRYPT,
    retiredKeyFiles: cfg.YX_BACKUP_RETIRED_KEY_FILES,
  });
  const log = createLogger('backup', cfg.YX_LOG_LEVEL);
  const access = await loadApiAccess(cfg, log);
  const registry = createRegistry('backup');
  const nc = await connectBus({
    servers: cfg.YX_NATS_URL,
    name: 'yx-backup',
    ...busSecurityFromEnv(cfg),
    inboxPrefix: serviceInboxPrefix('backup'),
  });
  const conn = await connectDb({ uri: cfg.YX_MONGO_URI, appName: 'yx-backup', maxPoolSize: cfg.YX_MONGO_POOL, registry });
  const app = await buildBackupApp({
    conn,
    nc,
    log,
    registry,
    clock: Date.now,
    keys,
    access,
    config: {
      bucket: cfg.YX_BACKUP_BUCKET,
      retentionDays: cfg.YX_BACKUP_RETENTION_DAYS,
      planQuotaBytes: cfg.YX_BACKUP_PLAN_QUOTA_BYTES,
      uploadTimeoutMs: cfg.YX_BACKUP_UPLOAD_TIMEOUT_MS,
      restoreCopyTtlMs: 3_600_000,
      maxConcurrentVerifications: cfg.YX_BACKUP_VERIFY_CONCURRENCY,
      sweepIntervalMs: cfg.YX_BACKUP_SWEEP_MS,
      streamReplicas: cfg.YX_STREAM_REPLICAS,
    },
  });
  await app.start();
  const address = await app.api.listen({ host: cfg.YX_API_HOST, port: cfg.YX_API_PORT });
  log.info({ address, sealedWith: keys.sealing?.id ?? null, keys: [...keys.byId.keys()] }, 'backup service ready');
  process.stdout.write(`yx-backup ready ${address}\n`);
  stopOnSignals(
    () => app.stop(),
    () => nc.drain(),
    () => conn.close(),
  );
}

runMain('yx-backup', main);
