// /v1/hosts: the inventory with liveness, a host's runs and steps, and its step logs.

import { STEP_NAMES, type StepName } from '@yixing/common';
import type { FastifyInstance } from 'fastify';
import type { HostDoc, HostRunDoc } from '../db/models.ts';
import { readRunLog } from '../logs/log-reader.ts';
import { selectorQuery } from '../plans/plan.service.ts';
import { NotFoundError } from './errors.ts';
import type { ApiDeps } from './server.ts';
import { runView } from './views.ts';

const hostIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['hostId'],
  properties: { hostId: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$' } },
} as const;

const label = { type: 'string', minLength: 1, maxLength: 128 } as const;

export function hostRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { models, inventory, engine } = deps;
  const hostView = (h: HostDoc) => ({
    hostId: h._id,
    facts: h.facts,
    labels: h.labels,
    driver: h.driver,
    agentVersion: h.agentVersion,
    registeredAt: h.registeredAt,
    lastSeenAt: inventory.lastSeen(h._id) ? new Date(inventory.lastSeen(h._id) as number).toISOString() : h.lastSeenAt,
    alive: inventory.isAlive(h._id, deps.heartbeatGraceMs),
    activePlanId: h.activePlanId,
  });

  app.get<{
    Querystring: { pool?: string; cluster?: string; zone?: string; rack?: string; role?: string; limit?: string; offset?: string };
  }>(
    '/v1/hosts',
    {
      schema: {
        tags: ['hosts'],
        summary: 'The inventory, filtered by labels',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            pool: label,
            cluster: label,
            zone: label,
            rack: label,
            role: label,
            limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
            offset: { type: 'string', pattern: '^[0-9]{1,7}$' },
          },
        },
      },
    },
    async (req) => {
      const { limit, offset, ...labels } = req.query;
      const q = selectorQuery(labels);
      const [total, hosts] = await Promise.all([
        models.Host.countDocuments(q),
        models.Host.find(q)
          .sort({ _id: 1 })
          .skip(Number(offset ?? 0))
          .limit(Math.min(Number(limit ?? 500), 10_000))
          .lean<HostDoc[]>(),
      ]);
      return { total, hosts: hosts.map(hostView) };
    },
  );

  app.get<{ Params: { hostId: string } }>('/v1/hosts/:hostId', { schema: { tags: ['hosts'], params: hostIdParams } }, async (req) => {
    const host = await models.Host.findById(req.params.hostId).lean<HostDoc>();
    if (!host) throw new NotFoundError(`no host ${req.params.hostId}`);
    const stored = await models.HostRun.find({ hostId: host._id }).lean<HostRunDoc[]>();
    const runs = stored.map((r) => {
      const rt = engine.runtime(r.planId);
      const live = rt?.runs.get(r._id);
      return runView(live ?? r, rt?.progress.get(r._id));
    });
    return { host: hostView(host), runs };
  });

  app.get<{ Params: { hostId: string }; Querystring: { runId?: string; step?: StepName; limit?: string } }>(
    '/v1/hosts/:hostId/logs',
    {
      schema: {
        tags: ['hosts'],
        summary: "A run's log lines (the latest run when runId is absent)",
        params: hostIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            runId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
            step: { type: 'string', enum: STEP_NAMES },
            limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
          },
        },
      },
    },
    async (req) => {
      let runId = req.query.runId;
      if (!runId) {
        const latest = await models.HostRun.find({ hostId: req.params.hostId }).sort({ _id: -1 }).lean<HostRunDoc[]>();
        const withSteps = latest.filter((r) => r.history.length > 0 || r.step);
        runId = (withSteps[0] ?? latest[0])?.runId;
        if (!runId) throw new NotFoundError(`host ${req.params.hostId} has no runs`);
      }
      const lines = await readRunLog(deps.bus, req.params.hostId, runId, {
        ...(req.query.step ? { step: req.query.step } : {}),
        limit: Math.min(Number(req.query.limit ?? 2000), 100_000),
      });
      return { hostId: req.params.hostId, runId, lines };
    },
  );

  app.get<{ Querystring: { planId?: string; limit?: string } }>(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Operator actions, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { planId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' }, limit: { type: 'string', pattern: '^[0-9]{1,5}$' } },
        },
      },
    },
    async (req) => ({
      entries: await deps.audit.list({
        ...(req.query.planId ? { planId: req.query.planId } : {}),
        limit: Math.min(Number(req.query.limit ?? 200), 5000),
      }),
    }),
  );
}
