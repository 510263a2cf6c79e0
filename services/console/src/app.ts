// Builds the console server from its configuration: security headers, the one error
// shape, the same-origin API proxies (scheduler, alerting, backup) and the single-page app.
import { apiServerOptions, installApiErrors } from '@yixing/common/http';
import Fastify, { type FastifyInstance } from 'fastify';
import { installApiProxy } from './server/api-proxy.ts';
import { installSecurityHeaders } from './server/security-headers.ts';
import { installSpa } from './server/spa.ts';

export interface ConsoleConfig {
  /** The scheduler API's base URL (no trailing slash). */
  schedulerApi: string;
  /** The alerting API's base URL (no trailing slash). */
  alertingApi: string;
  /** The backup service's API base URL (no trailing slash): a host's backup, sealed and verified. */
  backupApi: string;
  /** The built app: index.html and assets/ (npm run build:console). */
  distDir: string;
}

export interface ConsoleDeps {
  config: ConsoleConfig;
}

export async function buildConsoleApp(deps: ConsoleDeps): Promise<FastifyInstance> {
  // Open event streams would hold a close forever: they are cut, and the browser reconnects.
  const app = Fastify({ ...apiServerOptions({}), forceCloseConnections: true }) as unknown as FastifyInstance;
  installApiErrors(app, { service: 'console' });
  await installSecurityHeaders(app);
  await installApiProxy(app, { prefix: '/api/scheduler', upstream: deps.config.schedulerApi, name: 'the scheduler API' });
  await installApiProxy(app, { prefix: '/api/alerting', upstream: deps.config.alertingApi, name: 'the alerting API' });
  await installApiProxy(app, { prefix: '/api/backup', upstream: deps.config.backupApi, name: 'the backup API' });
  await installSpa(app, deps.config.distDir);
  return app;
}
