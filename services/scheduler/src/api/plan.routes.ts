// /v1/plans: create, inspect, operate, and follow a plan live (server-sent events).
import { idPatterns } from '@yixing/common';
import { errorResponses, identityOf, okResponse } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import type { HostRunDoc, PlanDoc, RunState } from '../db/models.ts';
import { type RunPageQuery, type RunPos, selectsRun } from '../db/run-pages.ts';
import { idempotencyKeyHeaders } from '../plans/plan.service.ts';
import { type PlanInput, planSpecSchema } from '../plans/plan-spec.ts';
import type { PlanRuntime } from '../reconcile/plan-runtime.ts';
import { NotFoundError } from './errors.ts';
import { DEFAULT_MAX_EVENT_STREAMS, DEFAULT_STREAM_OPTIONS, StreamSlots, streamPlan } from './event-stream.ts';
import { ascendingCursor, limitOf, PAGE_SIZES, pageParams, readAscendingCursor } from './paging.ts';
import { listPlanSummaries } from './plan-summaries.ts';
import type { ApiDeps } from './server.ts';
import { type PlanView, planView, type RunView, runView, storedPlanView } from './views.ts';

const planIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['planId'],
  properties: { planId: { type: 'string', pattern: idPatterns.planId } },
} as const;

const hostParams = {
  type: 'object',
  additionalProperties: false,
  required: ['planId', 'hostId'],
  properties: {
    planId: { type: 'string', pattern: idPatterns.planId },
    hostId: { type: 'string', pattern: idPatterns.hostId },
  },
} as const;

const RUN_STATES = ['pending', 'active', 'held', 'succeeded', 'failed', 'excluded'] as const;

export async function loadPlanView(deps: ApiDeps, planId: string): Promise<PlanView> {
  const rt = deps.engine.runtime(planId) ?? deps.engine.endingRuntime(planId);
  if (rt) return planView(rt);
  const plan = await deps.models.Plan.findById(planId).lean<PlanDoc>();
  if (!plan) throw new NotFoundError(`no plan ${planId}`);
  // The view counts runs by state and phase: their step records are not read.
  return storedPlanView(plan, await deps.runs.loadPlan(planId, { history: false }));
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
        headers: idempotencyKeyHeaders('plan'),
        body: { $ref: 'PlanSpec#' },
        response: { ...okResponse('The plan, created and started', 201), ...errorResponses(409, 422) },
      },
    },
    async (req, reply) => {
      const idempotencyKey = req.headers['idempotency-key'] as string | undefined;
      const plan = await plans.create(req.body, identityOf(req).name, { idempotencyKey });
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
            ...pageParams(PAGE_SIZES.plans),
          },
        },
        response: okResponse('{items: plan summaries, nextCursor: null on the last page}'),
      },
    },
    (req) =>
      listPlanSummaries(deps, {
        ...(req.query.state ? { state: req.query.state } : {}),
        ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
        limit: limitOf(req.query.limit, PAGE_SIZES.plans),
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

  app.get<{ Params: { planId: string }; Querystring: { state?: RunState; phase?: string; limit?: string; cursor?: string } }>(
    '/v1/plans/:planId/hosts',
    {
      schema: {
        tags: ['plans'],
        summary: "A plan's hosts with their steps, in take order, a page at a time (follow nextCursor)",
        params: planIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: RUN_STATES },
            phase: {
              type: 'string',
              pattern: '^[0-9]{1,4}$',
              description: "A phase's index (0 = the canary): only that phase's hosts. One past the last: hosts left out of every phase.",
            },
            ...pageParams(PAGE_SIZES.planHosts),
          },
        },
        response: { ...okResponse('{hosts, nextCursor: null on the last page}'), ...errorResponses(404) },
      },
    },
    async (req) => {
      const q = {
        limit: limitOf(req.query.limit, PAGE_SIZES.planHosts),
        ...(req.query.state ? { state: req.query.state } : {}),
        ...(req.query.phase !== undefined ? { phase: Number(req.query.phase) } : {}),
        ...(req.query.cursor ? { after: afterRun(req.query.cursor) } : {}),
      };
      // A plan that just ended is read from memory until its runs are compacted.
      const rt = engine.runtime(req.params.planId) ?? engine.endingRuntime(req.params.planId);
      if (rt) return livePlanHosts(rt, q);
      if (!(await models.Plan.exists({ _id: req.params.planId }))) throw new NotFoundError(`no plan ${req.params.planId}`);
      const { runs, more } = await deps.runs.pagePlan(req.params.planId, q);
      return hostsPage(
        runs.map((r) => runView(r)),
        more,
      );
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
        const result = await run(req.params.planId, identityOf(req).name, req.body ?? {});
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
      async (req) => runView(await run(req.params.planId, req.params.hostId, identityOf(req).name)),
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
      const { expiresAtMs } = identityOf(req);
      streamPlan(engine, req.params.planId, reply, () => loadPlanView(deps, req.params.planId), release, {
        ...DEFAULT_STREAM_OPTIONS,
        ...deps.eventStreams,
        ...(expiresAtMs === undefined ? {} : { endAtMs: expiresAtMs }),
      });
    },
  );
}

export { planSpecSchema };

/** A plan-hosts cursor: the order and key of the page's last run. */
const afterRun = (cursor: string): RunPos => {
  const { position, id } = readAscendingCursor(cursor);
  return { order: position, key: id };
};

function hostsPage(hosts: RunView[], more: boolean): { hosts: RunView[]; nextCursor: string | null } {
  const last = hosts.at(-1);
  return { hosts, nextCursor: more && last ? ascendingCursor(last.order, `${last.planId}/${last.hostId}`) : null };
}

/** A page of a live plan from memory, in the engine's take order (phase, then order). */
function livePlanHosts(rt: PlanRuntime, q: RunPageQuery): { hosts: RunView[]; nextCursor: string | null } {
  const page: RunView[] = [];
  for (const key of rt.order) {
    const run = rt.runs.get(key) as HostRunDoc;
    if (!selectsRun(q, run)) continue;
    if (page.length === q.limit) return hostsPage(page, true);
    page.push(runView(run, rt.progress.get(key)));
  }
  return hostsPage(page, false);
}
