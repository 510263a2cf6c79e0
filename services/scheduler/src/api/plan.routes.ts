// /v1/plans: create, inspect, operate, and follow a plan live (server-sent events).
import { errorResponses, okResponse, pageLimit, pageQuery } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import type { HostRunDoc, PlanDoc, RunState } from '../db/models.ts';
import { type PlanInput, planSpecSchema } from '../plans/plan-spec.ts';
import { NotFoundError } from './errors.ts';
import { DEFAULT_STREAM_OPTIONS, StreamSlots, streamPlan } from './event-stream.ts';
import { listPlanSummaries } from './plan-summaries.ts';
import type { ApiDeps } from './server.ts';
import { type PlanView, planView, runView, storedPlanView } from './views.ts';

/** Open event streams served at once unless configured (ApiDeps.maxEventStreams). */
export const DEFAULT_MAX_EVENT_STREAMS = 200;

const planIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['planId'],
  properties: { planId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } },
} as const;

const hostParams = {
  type: 'object',
  additionalProperties: false,
  required: ['planId', 'hostId'],
  properties: {
    planId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
    hostId: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$' },
  },
} as const;

const RUN_STATES = ['pending', 'active', 'held', 'succeeded', 'failed', 'excluded'] as const;

export function actorOf(headers: Record<string, unknown>): string {
  const raw = headers['x-yx-actor'];
  return typeof raw === 'string' && /^[\w.@-]{1,64}$/.test(raw) ? raw : 'anonymous';
}

export async function loadPlanView(deps: ApiDeps, planId: string): Promise<PlanView> {
  const rt = deps.engine.runtime(planId);
  if (rt) return planView(rt);
  const plan = await deps.models.Plan.findById(planId).lean<PlanDoc>();
  if (!plan) throw new NotFoundError(`no plan ${planId}`);
  return storedPlanView(plan, await deps.runs.loadPlan(planId));
}

export function planRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { engine, plans, models } = deps;
  const streams = new StreamSlots(deps.maxEventStreams ?? DEFAULT_MAX_EVENT_STREAMS);

  app.post<{ Body: PlanInput }>(
    '/v1/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'Create (and start) a plan',
        headers: {
          type: 'object',
          properties: {
            'idempotency-key': {
              type: 'string',
              pattern: '^[!-~]{1,255}$',
              description:
                'Retrying with the same key and body answers the same plan, created at most once; the key with another body is a 422.',
            },
          },
        },
        body: { $ref: 'PlanSpec#' },
        response: { ...okResponse('The plan, created and started', 201), ...errorResponses(409, 422) },
      },
    },
    async (req, reply) => {
      const idempotencyKey = req.headers['idempotency-key'] as string | undefined;
      const plan = await plans.create(req.body, actorOf(req.headers), { idempotencyKey });
      return reply.status(201).send(await loadPlanView(deps, plan._id));
    },
  );

  app.get<{ Querystring: { state?: string; limit?: string; cursor?: string } }>(
    '/v1/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'Plan summaries, newest first, a page at a time (follow nextCursor)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: {
              type: 'string',
              enum: ['running', 'paused', 'waiting-approval', 'budget-exhausted', 'aborting', 'completed', 'aborted'],
            },
            ...pageQuery(500),
          },
        },
        response: okResponse('{items: plan summaries, nextCursor: null on the last page}'),
      },
    },
    (req) =>
      listPlanSummaries(deps, {
        ...(req.query.state ? { state: req.query.state } : {}),
        ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
        limit: pageLimit(req.query.limit, 50, 500),
      }),
  );

  app.get<{ Params: { planId: string } }>(
    '/v1/plans/:planId',
    {
      schema: {
        tags: ['plans'],
        summary: 'A plan and its progress',
        params: planIdParams,
        response: { ...okResponse('The plan'), ...errorResponses(404) },
      },
    },
    (req) => loadPlanView(deps, req.params.planId),
  );

  app.get<{ Params: { planId: string }; Querystring: { state?: RunState; limit?: string; offset?: string } }>(
    '/v1/plans/:planId/hosts',
    {
      schema: {
        tags: ['plans'],
        summary: "A plan's hosts with their steps",
        params: planIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: RUN_STATES },
            limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
            offset: { type: 'string', pattern: '^[0-9]{1,7}$' },
          },
        },
        response: { ...okResponse('{total, hosts}'), ...errorResponses(404) },
      },
    },
    async (req) => {
      const limit = Math.min(Number(req.query.limit ?? 1000), 10_000);
      const offset = Number(req.query.offset ?? 0);
      const rt = engine.runtime(req.params.planId);
      let runs: HostRunDoc[];
      if (rt) runs = rt.order.map((id) => rt.runs.get(id) as HostRunDoc);
      else {
        if (!(await models.Plan.exists({ _id: req.params.planId }))) throw new NotFoundError(`no plan ${req.params.planId}`);
        runs = (await deps.runs.loadPlan(req.params.planId)).sort((a, b) => a.phase - b.phase || a.order - b.order);
      }
      const filtered = req.query.state ? runs.filter((r) => r.state === req.query.state) : runs;
      return {
        total: filtered.length,
        hosts: filtered.slice(offset, offset + limit).map((r) => runView(r, rt?.progress.get(r._id))),
      };
    },
  );

  const action = (name: string, run: (planId: string, actor: string, body: Record<string, unknown>) => Promise<unknown>, body?: object) =>
    app.post<{ Params: { planId: string }; Body: Record<string, unknown> }>(
      `/v1/plans/:planId/${name}`,
      {
        schema: {
          tags: ['plan actions'],
          summary: `${name} the plan`,
          params: planIdParams,
          ...(body ? { body } : {}),
          response: { ...okResponse('{result, plan}'), ...errorResponses(404, 409) },
        },
      },
      async (req) => {
        const result = await run(req.params.planId, actorOf(req.headers), req.body ?? {});
        return { result, plan: await loadPlanView(deps, req.params.planId) };
      },
    );
  action('pause', (id, actor) => engine.pause(id, actor).then(() => 'paused'));
  action('resume', (id, actor) => engine.resume(id, actor).then(() => 'resumed'));
  action('approve', (id, actor) => engine.approve(id, actor).then(() => 'approved'));
  action('retry-failed', (id, actor) => engine.retryFailed(id, actor));
  action(
    'abort',
    (id, actor, body) => engine.abort(id, actor, (body.inFlight as 'finish' | 'rollback' | undefined) ?? 'finish').then(() => 'aborting'),
    {
      type: 'object',
      additionalProperties: false,
      properties: { inFlight: { type: 'string', enum: ['finish', 'rollback'] } },
    },
  );

  const hostAction = (name: string, run: (planId: string, hostId: string, actor: string) => Promise<HostRunDoc>) =>
    app.post<{ Params: { planId: string; hostId: string } }>(
      `/v1/plans/:planId/hosts/:hostId/${name}`,
      {
        schema: {
          tags: ['plan actions'],
          summary: `${name} one host of the plan`,
          params: hostParams,
          response: { ...okResponse("The host's run"), ...errorResponses(404, 409) },
        },
      },
      async (req) => runView(await run(req.params.planId, req.params.hostId, actorOf(req.headers))),
    );
  hostAction('exclude', (p, h, a) => engine.exclude(p, h, a));
  hostAction('rollback', (p, h, a) => engine.resolveHeld(p, h, a, 'rollback'));
  hostAction('retry', (p, h, a) => engine.resolveHeld(p, h, a, 'retry'));

  app.get<{ Params: { planId: string } }>(
    '/v1/plans/:planId/events',
    {
      schema: {
        tags: ['plans'],
        summary: 'Live progress as server-sent events (event: plan, event: host)',
        params: planIdParams,
        response: {
          200: {
            description: 'text/event-stream: `plan` snapshots and `host` changes until the plan ends',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...errorResponses(404, 429),
        },
      },
    },
    async (req, reply) => {
      await loadPlanView(deps, req.params.planId);
      const release = streams.take();
      streamPlan(engine, req.params.planId, reply, () => loadPlanView(deps, req.params.planId), release, {
        ...DEFAULT_STREAM_OPTIONS,
        ...deps.eventStreams,
      });
    },
  );
}

export { planSpecSchema };
