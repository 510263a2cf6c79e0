// /v1/inventory/summary: the inventory counted for the fleet overview (by OS release, agent
// version and connection), from the scheduler's memory: one pass, no database query.
import { okResponse } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './server.ts';

export function inventoryRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'inventory' | 'heartbeatGraceMs'>): void {
  app.get(
    '/v1/inventory/summary',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Hosts counted by OS release, by agent version and by connection (online: a heartbeat within the grace)',
        querystring: { type: 'object', additionalProperties: false, properties: {} },
        response: okResponse(
          '{total, online, offline, byOsRelease: [{osId, osVersion, hosts, online}], byAgentVersion: [{agentVersion, hosts, online}]}',
        ),
      },
    },
    async () => deps.inventory.summary(deps.heartbeatGraceMs),
  );
}
