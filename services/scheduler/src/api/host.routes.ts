// /v1/hosts: the inventory with liveness, a host's runs and steps, and its step logs.

import { idPatterns, readRunLog, readRunLogTail, STEP_NAMES, type StepName } from '@yixing/common';
import { errorResponses, okResponse } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import type { InventoryHost } from '../inventory/inventory.ts';
import { auditPage } from './audit-page.ts';
import { NotFoundError, QueryInvalidError } from './errors.ts';
import { ascendingCursor, limitOf, PAGE_SIZES, pageParams, readAscendingCursor } from './paging.ts';
import type { ApiDeps } from './server.ts';
import { type RunView, runView } from './views.ts';

const hostIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['hostId'],
  properties: { hostId: { type: 'string', pattern: idPatterns.hostId } },
} as const;

const label = { type: 'string', minLength: 1, maxLength: 128 } as const;

// Log pages have their own cursor (a stream sequence), and the common limit.
const logLimit = pageParams(PAGE_SIZES.logLines).limit;

export function hostRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { inventory, engine } = deps;
  const hostView = (h: InventoryHost) => {
    const seen = inventory.lastSeen(h._id);
    return {
      hostId: h._id,
      facts: h.facts,
      labels: h.labels,
      driver: h.driver,
      agentVersion: h.agentVersion,
      registeredAt: h.registeredAt,
      lastSeenAt: seen === undefined ? null : new Date(seen).toISOString(),
      alive: inventory.isAlive(h._id, deps.heartbeatGraceMs),
      activePlanId: engine.livePlanOf(h._id),
    };
  };

  /** Live runs from the engine, finished ones from the archive. */
  const runsOf = async (hostId: string): Promise<RunView[]> => {
    const live = engine.liveRunsOf(hostId);
    const liveIds = new Set(live.map((l) => l.run._id));
    const archived = (await deps.runs.loadArchivedOfHost(hostId)).filter((r) => !liveIds.has(r._id));
    return [...live.map((l) => runView(l.run, l.percent)), ...archived.map((r) => runView(r))];
  };

  app.get<{
    Querystring: { pool?: string; cluster?: string; zone?: string; rack?: string; role?: string; limit?: string; cursor?: string };
  }>(
    '/v1/hosts',
    {
      schema: {
        tags: ['hosts'],
        summary: 'The inventory, filtered by labels, by host id, a page at a time (follow nextCursor)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { pool: label, cluster: label, zone: label, rack: label, role: label, ...pageParams(PAGE_SIZES.hosts) },
        },
        response: okResponse('{total: hosts matching, hosts, nextCursor: null on the last page}'),
      },
    },
    async (req) => {
      const { limit, cursor, ...labels } = req.query;
      const after = cursor ? readAscendingCursor(cursor).id : undefined;
      // By id: the page starts after the cursor's host, wherever hosts came or went.
      const { hosts, more, total } = inventory.page(labels, after, limitOf(limit, PAGE_SIZES.hosts));
      const last = hosts.at(-1);
      return { total, hosts: hosts.map(hostView), nextCursor: more && last ? ascendingCursor(0, last._id) : null };
    },
  );

  app.get<{ Params: { hostId: string } }>(
    '/v1/hosts/:hostId',
    {
      schema: {
        tags: ['hosts'],
        summary: 'A host, its runs and their steps',
        params: hostIdParams,
        response: { ...okResponse('{host, runs}'), ...errorResponses(404) },
      },
    },
    async (req) => {
      const host = inventory.host(req.params.hostId);
      if (!host) throw new NotFoundError(`no host ${req.params.hostId}`);
      return { host: hostView(host), runs: await runsOf(host._id) };
    },
  );

  app.get<{
    Params: { hostId: string };
    Querystring: { runId?: string; step?: StepName; limit?: string; cursor?: string; tail?: string };
  }>(
    '/v1/hosts/:hostId/logs',
    {
      schema: {
        tags: ['hosts'],
        summary: "A run's log lines (the latest run when runId is absent), oldest first, a page at a time; tail=N: the run's last N lines",
        params: hostIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            runId: { type: 'string', pattern: idPatterns.runId },
            step: { type: 'string', enum: STEP_NAMES },
            limit: logLimit,
            tail: {
              ...logLimit,
              description: `The run's last lines only, 1 to ${PAGE_SIZES.logLines.max}, oldest first; not with cursor, limit or step.`,
            },
            cursor: {
              type: 'string',
              pattern: '^[0-9]{1,16}$',
              description: 'The nextCursor of the previous page (a stream sequence); absent for the first page.',
            },
          },
        },
        response: { ...okResponse('{hostId, runId, lines, nextCursor: null when the run had no more lines}'), ...errorResponses(404) },
      },
    },
    async (req) => {
      const { tail } = req.query;
      for (const other of ['cursor', 'limit', 'step'] as const) {
        if (tail !== undefined && req.query[other] !== undefined) {
          throw new QueryInvalidError('querystring.tail', `cannot be combined with ${other}`);
        }
      }
      let runId = req.query.runId;
      if (!runId) {
        const runs = await deps.runs.loadHost(req.params.hostId);
        const started = runs
          .filter((r) => r.slots.length > 0)
          .sort((a, b) => (b.slots.at(-1)?.takenSeq ?? 0) - (a.slots.at(-1)?.takenSeq ?? 0));
        runId = (started.find((r) => r.state === 'active') ?? started[0] ?? runs[0])?.runId;
        if (!runId) throw new NotFoundError(`host ${req.params.hostId} has no runs`);
      }
      const page =
        tail !== undefined
          ? await readRunLogTail(deps.bus, req.params.hostId, runId, limitOf(tail, PAGE_SIZES.logLines))
          : await readRunLog(deps.bus, req.params.hostId, runId, {
              ...(req.query.step ? { step: req.query.step } : {}),
              ...(req.query.cursor ? { after: Number(req.query.cursor) } : {}),
              limit: limitOf(req.query.limit, PAGE_SIZES.logLines),
            });
      return {
        hostId: req.params.hostId,
        runId,
        lines: page.lines,
        nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
      };
    },
  );

  app.get<{ Querystring: { planId?: string; limit?: string; cursor?: string } }>(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Operator actions, newest first, a page at a time (follow nextCursor)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { planId: { type: 'string', pattern: idPatterns.planId }, ...pageParams(PAGE_SIZES.audit) },
        },
        response: okResponse('{entries, nextCursor: null on the last page}'),
      },
    },
    (req) =>
      auditPage(deps.models, {
        ...(req.query.planId ? { planId: req.query.planId } : {}),
        ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
        limit: limitOf(req.query.limit, PAGE_SIZES.audit),
      }),
  );
}
