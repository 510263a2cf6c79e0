#!/usr/bin/env node
// yx-console: serves the web console (the built single-page app) and proxies the
// scheduler and alerting APIs under its own origin, so the browser talks to one server.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiEnv, createLogger, logEnv, readEnv, runMain, stopOnSignals, str } from '@yixing/common';
import { buildConsoleApp } from './app.ts';

const BASE_URL = /^https?:\/\/[^\s]+[^/\s]$/;
const repoDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'console');

async function main(): Promise<void> {
  const cfg = readEnv(
    {
      ...apiEnv(8084),
      ...logEnv,
      YX_CONSOLE_SCHEDULER_API: {
        doc: 'the scheduler API the console proxies under /api/scheduler (no trailing slash)',
        parse: str({ pattern: BASE_URL }),
        default: 'http://127.0.0.1:8080',
      },
      YX_CONSOLE_ALERTING_API: {
        doc: 'the alerting API the console proxies under /api/alerting (no trailing slash)',
        parse: str({ pattern: BASE_URL }),
        default: 'http://127.0.0.1:8083',
      },
      YX_CONSOLE_BACKUP_API: {
        doc: 'the backup service API the console proxies under /api/backup (no trailing slash)',
        parse: str({ pattern: BASE_URL }),
        default: 'http://127.0.0.1:8081',
      },
      YX_CONSOLE_DIST: {
        doc: 'the built console (index.html, assets/): npm run build:console',
        parse: str(),
        default: repoDist,
      },
    },
    process.env,
  );
  const log = createLogger('console', cfg.YX_LOG_LEVEL);
  const app = await buildConsoleApp({
    config: {
      schedulerApi: cfg.YX_CONSOLE_SCHEDULER_API,
      alertingApi: cfg.YX_CONSOLE_ALERTING_API,
      backupApi: cfg.YX_CONSOLE_BACKUP_API,
      distDir: cfg.YX_CONSOLE_DIST,
    },
  });
  const address = await app.listen({ host: cfg.YX_API_HOST, port: cfg.YX_API_PORT });
  log.info(
    { address, scheduler: cfg.YX_CONSOLE_SCHEDULER_API, alerting: cfg.YX_CONSOLE_ALERTING_API, backup: cfg.YX_CONSOLE_BACKUP_API },
    'console ready',
  );
  process.stdout.write(`yx-console ready ${address}\n`);
  stopOnSignals(() => app.close());
}

runMain('yx-console', main);
