// The HTTP API, built from injected parts (tests drive it through inject()). JSON Schema
// validation rejects unknown fields (removeAdditional is off) and errors name the field.
import swagger from '@fastify/swagger';
import { type Bus, NotLeaderError, type Registry } from '@yixing/common';
import {
  type ApiAccess,
  apiSecuritySchemes,
  apiServerOptions,
  documentErrors,
  identityOf,
  installApiAuth,
  installApiErrors,
  localReference,
  okResponse,
} from '@yixing/common/http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Models } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { PlanService } from '../plans/plan.service.ts';
import { planSpecSchema } from '../plans/plan-spec.ts';
import type { Engine } from '../reconcile/engine.ts';
import { type Leader, soleLeader } from '../reconcile/leader.ts';
import { assessmentRoutes } from './assessment.routes.ts';
import type { StreamOptions } from './event-stream.ts';
import { hostRoutes } from './host.routes.ts';
import { inventoryRoutes } from './inventory.routes.ts';
import { type OperationRoutesDeps, operationRoutes } from './operation.routes.ts';
import { planRoutes } from './plan.routes.ts';
import { schedulerRouteRoles } from './route-roles.ts';

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ApiDeps extends OperationRoutesDeps {
  models: Models;
  runs: RunStore;
  engine: Engine;
  plans: PlanService;
  inventory: Inventory;
  audit: AuditLog;
  bus: Bus;
  registry: Registry;
  heartbeatGraceMs: number;
  /** Who may call: authentication, rate limits and, when set, TLS. */
  access: ApiAccess;
  /** Whether this replica leads (a follower serves reads and refuses writes); absent: it runs alone. */
  leader?: Leader;
  /** Largest accepted request body. */
  bodyLimit?: number;
  /** Event streams (GET /v1/plans/<id>/events) open at once; the next is refused with 429. */
  maxEventStreams?: number;
  eventStreams?: Partial<StreamOptions>;
  logger?: boolean;
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify(
    apiServerOptions({
      logger: deps.logger ?? false,
      bodyLimit: deps.bodyLimit ?? 256 * 1024,
      ...(deps.access.tls ? { tls: deps.access.tls } : {}),
    }),
  ) as unknown as FastifyInstance;
  installApiErrors(app, { service: 'scheduler' });
  documentErrors(app);
  await installApiAuth(app, { ...deps.access, routeRoles: schedulerRouteRoles });
  const leader = deps.leader ?? soleLeader;
  // A follower serves reads from the database; whatever changes something is the leader's.
  app.addHook('preHandler', async (req) => {
    if (READ_METHODS.has(req.method) || leader.isLeader()) return;
    const hint = leader.leaderHint();
    throw new NotLeaderError(`this scheduler replica does not lead: send changes to the leader${hint.url ? ` (${hint.url})` : ''}`, {
      details: hint,
    });
  });
  // 3.1: its schemas are JSON Schema 2020-12, the dialect the routes validate with.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Yixing scheduler API', version: '1.0.0', description: 'Plans, hosts, steps and logs of in-place OS migrations.' },
      components: { securitySchemes: apiSecuritySchemes },
    },
    refResolver: { buildLocalReference: localReference },
  });
  app.addSchema(planSpecSchema);
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true, role: leader.isLeader() ? 'leader' : 'follower' }));
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  // The caller as this API sees them: the console shows the role (and what it may do).
  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['identity'],
        summary: 'The caller: name, role and how the credential was proven',
        response: okResponse('{name, role, via}'),
      },
    },
    async (req) => {
      const { name, role, via } = identityOf(req);
      return { name, role, via };
    },
  );
  planRoutes(app, deps);
  hostRoutes(app, deps);
  inventoryRoutes(app, deps);
  assessmentRoutes(app, deps);
  operationRoutes(app, deps);
  return app;
}
