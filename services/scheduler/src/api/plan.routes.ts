// /v1/plans: create, inspect, operate, and follow a plan live (server-sent events).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { HostRunDoc, PlanDoc, RunState } from '../db/models.ts';
import { type PlanInput, planSpecSchema } from '../plans/plan-spec.ts';
import { NotFoundError } from './errors.ts';
import type { ApiDeps } from './server.ts';
import { type PlanView, planView, runView, storedPlanView } from './views.ts';

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

  app.post<{ Body: PlanInput }>(
    '/v1/plans',
    { schema: { tags: ['plans'], summary: 'Create (and start) a plan', body: { $ref: 'PlanSpec#' } } },
    async (req, reply) => {
      const plan = await plans.create(req.body, actorOf(req.headers));
      return reply.status(201).send(await loadPlanView(deps, plan._id));
    },
  );

  app.get<{ Querystring: { state?: string } }>(
    '/v1/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'List plans, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: {
              type: 'string',
              enum: ['running', 'paused', 'waiting-approval', 'budget-exhausted', 'aborting', 'completed', 'aborted'],
            },
          },
        },
      },
    },
    async (req) => {
      const filter: Record<string, unknown> = req.query.state ? { state: req.query.state } : {};
      const docs = await models.Plan.find(filter, { _id: 1 }).sort({ createdAt: -1 }).limit(200).lean<{ _id: string }[]>();
      return { plans: await Promise.all(docs.map((d) => loadPlanView(deps, d._id))) };
    },
  );

  app.get<{ Params: { planId: string } }>('/v1/plans/:planId', { schema: { tags: ['plans'], params: planIdParams } }, (req) =>
    loadPlanView(deps, req.params.planId),
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
      { schema: { tags: ['plan actions'], params: planIdParams, ...(body ? { body } : {}) } },
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
      { schema: { tags: ['plan actions'], params: hostParams } },
      async (req) => runView(await run(req.params.planId, req.params.hostId, actorOf(req.headers))),
    );
  hostAction('exclude', (p, h, a) => engine.exclude(p, h, a));
  hostAction('rollback', (p, h, a) => engine.resolveHeld(p, h, a, 'rollback'));
  hostAction('retry', (p, h, a) => engine.resolveHeld(p, h, a, 'retry'));

  app.get<{ Params: { planId: string } }>(
    '/v1/plans/:planId/events',
    { schema: { tags: ['plans'], summary: 'Live progress as server-sent events (event: plan, event: host)', params: planIdParams } },
    async (req, reply) => {
      await loadPlanView(deps, req.params.planId);
      streamPlan(deps, req.params.planId, reply);
    },
  );
}

/**
 * Server-sent events: a `plan` snapshot at every plan state change and at most every
 * 250 ms while hosts move, and each `host` change. The stream ends with the plan.
 */
function streamPlan(deps: ApiDeps, planId: string, reply: FastifyReply): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let ended = false;
  const send = (event: string, data: unknown): void => {
    if (!ended) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const sendView = (v: PlanView): void => {
    send('plan', v);
    if (v.state === 'completed' || v.state === 'aborted') {
      ended = true;
      res.end();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const snapshot = (): void => {
    timer = undefined;
    // A live plan's view is built at once from memory; a finished one is read back.
    const rt = deps.engine.runtime(planId);
    if (rt) sendView(planView(rt));
    else
      loadPlanView(deps, planId)
        .then(sendView)
        .catch(() => res.end());
  };
  const onPlan = (id: string): void => {
    if (id !== planId) return;
    clearTimeout(timer);
    snapshot();
  };
  const onRun = (id: string, run: HostRunDoc): void => {
    if (id !== planId) return;
    send('host', {
      hostId: run.hostId,
      state: run.state,
      step: run.step,
      stepState: run.stepState,
      attempt: run.attempt,
      failure: run.failure,
      rollback: run.rollback,
    });
    timer ??= setTimeout(snapshot, 250);
  };
  deps.engine.events.on('plan', onPlan);
  deps.engine.events.on('run', onRun);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  res.on('close', () => {
    ended = true;
    clearInterval(keepAlive);
    clearTimeout(timer);
    deps.engine.events.off('plan', onPlan);
    deps.engine.events.off('run', onRun);
  });
  snapshot();
}

export { planSpecSchema };
