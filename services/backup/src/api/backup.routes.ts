// The backup API: list, show, verify and delete catalogued backups, each route behind its
// least role (route-roles.ts). Each error's own status: a refusal 409, an unknown id 404,
// a store that did not answer 503.
import { idPatterns, type Registry } from '@yixing/common';
import {
  type ApiAccess,
  apiServerOptions,
  decodeCursor,
  installApiAuth,
  installApiErrors,
  NEWEST_FIRST,
  newestFirstAfter,
  pageLimit,
  pageOf,
  pageQuery,
} from '@yixing/common/http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Model } from 'mongoose';
import type { BackupService } from '../backup.service.ts';
import type { BackupDoc } from '../catalog/backup.model.ts';
import { backupRouteRoles } from './route-roles.ts';

export interface BackupApiDeps {
  service: BackupService;
  model: Model<BackupDoc>;
  registry: Registry;
  access: ApiAccess;
}

export const backupView = (d: BackupDoc) => ({
  id: d._id,
  hostId: d.hostId,
  runId: d.runId,
  planId: d.planId,
  paths: d.paths,
  state: d.state,
  reason: d.reason,
  sizeBytes: d.sizeBytes,
  storedBytes: d.storedBytes,
  sha256: d.sha256,
  encrypted: d.keyId !== null,
  keyId: d.keyId,
  osRelease: d.osRelease,
  packageCount: d.packageCount,
  createdAt: d.createdAt,
  verifiedAt: d.verifiedAt,
  runFinalAt: d.runFinalAt,
  expiresAt: d.expiresAt,
});

export async function buildBackupApi(deps: BackupApiDeps): Promise<FastifyInstance> {
  const { service, model, registry } = deps;
  const api = Fastify(apiServerOptions(deps.access.tls ? { tls: deps.access.tls } : {})) as unknown as FastifyInstance;
  installApiErrors(api, { service: 'backup service' });
  await installApiAuth(api, { ...deps.access, routeRoles: backupRouteRoles });
  const idParams = {
    type: 'object',
    required: ['id'],
    additionalProperties: false,
    properties: { id: { type: 'string', pattern: idPatterns.backupId } },
  } as const;
  api.get('/healthz', async () => ({ ok: true }));
  api.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  api.get<{ Querystring: { hostId?: string; planId?: string; state?: string; limit?: string; cursor?: string } }>(
    '/v1/backups',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            hostId: { type: 'string', pattern: idPatterns.hostId },
            planId: { type: 'string', pattern: idPatterns.planId },
            state: { type: 'string', enum: ['uploading', 'verified', 'failed', 'deleted', 'expired'] },
            ...pageQuery(1000),
          },
        },
      },
    },
    async (req) => {
      const filter: Record<string, unknown> = req.query.cursor ? newestFirstAfter(decodeCursor(req.query.cursor)) : {};
      for (const k of ['hostId', 'planId', 'state'] as const) if (req.query[k]) filter[k] = req.query[k] as string;
      const limit = pageLimit(req.query.limit, 200, 1000);
      const found = await model
        .find(filter, { packages: 0 })
        .sort({ ...NEWEST_FIRST })
        .limit(limit + 1)
        .lean<BackupDoc[]>();
      const { docs, nextCursor } = pageOf(found, limit);
      return { items: docs.map(backupView), nextCursor };
    },
  );
  api.get<{ Params: { id: string } }>('/v1/backups/:id', { schema: { params: idParams } }, async (req) => {
    const doc = await service.get(req.params.id);
    return { ...backupView(doc), packages: doc.packages };
  });
  api.post<{ Params: { id: string } }>('/v1/backups/:id/verify', { schema: { params: idParams } }, async (req) => {
    const r = await service.verify(req.params.id);
    return { ok: r.ok, reason: r.reason, backup: backupView(r.doc) };
  });
  api.delete<{ Params: { id: string } }>('/v1/backups/:id', { schema: { params: idParams } }, async (req) =>
    backupView(await service.delete(req.params.id)),
  );
  return api;
}
