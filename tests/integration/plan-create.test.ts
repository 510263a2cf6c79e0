// Creating a plan is all or nothing and can be retried with an Idempotency-Key: a failure
// of the audit write or of the engine leaves no plan behind, a retry with the same key
// creates it once, and the same key with another body is refused. A commit whose answer
// is lost is settled by asking again; until it is, the plan's hosts are held.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger, UnavailableError } from '@yixing/common';
import type { Scheduler } from '@yixing/scheduler';
import { AuditLog, type Engine, type Models, PlanService } from '@yixing/scheduler/internal';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: InProcessStack;
let scheduler: Scheduler;

before(async () => {
  stack = await startInProcess('plan_create');
  scheduler = stack.scheduler;
  // Clusters of 2 hosts; each test takes its own clusters.
  await stack.addFleet({ pool: 'pc', prefix: 'pc', size: 18, clusters: 9 });
});

after(async () => {
  await stack?.stop();
});

const planOf = (name: string, hosts: string[]) => ({
  name,
  selector: { pool: 'pc', hosts },
  profile: 'debian-11-to-12',
  canary: { count: 1 },
  limits: { maxInFlight: 1 },
  errorBudget: { plan: { count: 1 } },
  clusterCheck: { minHealthyPercent: 40 },
  startPaused: true,
});

/** A plan service over the scheduler's own parts, with the given audit log and engine. */
function service(parts: { audit?: AuditLog; engine?: Engine; models?: Models } = {}): PlanService {
  const { models, runs, engine, inventory } = scheduler;
  return new PlanService({
    models: parts.models ?? models,
    runs,
    engine: parts.engine ?? engine,
    inventory,
    audit: parts.audit ?? new AuditLog(models, Date.now),
    log: silentLogger(),
    clock: Date.now,
    settleBackoffMs: { first: 20, max: 100, attempts: 3 },
  });
}

/**
 * The scheduler's models, with plan inserts whose answer is lost (after the insert if
 * `lands`) and existence checks that fail while `down` (or `failures` times).
 */
function lossyPlans(opts: { lands: boolean; down?: boolean; failures?: number }) {
  const real = scheduler.models.Plan;
  const state = { down: opts.down ?? false, failures: opts.failures ?? 0, checks: 0 };
  const Plan = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'create') {
        return async (doc: object) => {
          if (opts.lands) await real.create(doc);
          throw new UnavailableError('injected: the answer of the insert was lost');
        };
      }
      if (prop === 'exists') {
        return (filter: object) => {
          state.checks++;
          if (state.down || state.failures-- > 0) return Promise.reject(new UnavailableError('injected: the check failed'));
          return real.exists(filter);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  return { models: { ...scheduler.models, Plan } as Models, state };
}

/** What a creation of `name` left: plan documents, runs of plans that do not exist, audit entries, live plans. */
async function leftOf(name: string, hosts: string[]): Promise<string> {
  const { Plan, RunState, Audit } = scheduler.models;
  const plans = await Plan.find({ name }, { _id: 1 }).lean<{ _id: string }[]>();
  const planIds = plans.map((p) => p._id);
  const runs = await RunState.countDocuments({ hostId: { $in: hosts } });
  const audit = await Audit.countDocuments({ action: 'plan.create', 'details.name': name });
  const live = hosts.filter((h) => scheduler.engine.livePlanOf(h) !== null).length;
  return JSON.stringify({ plans: planIds.length, runs, audit, live });
}

test('a plan whose audit write fails is not left behind; a retry with the same key creates it once', async () => {
  const hosts = ['pc-00', 'pc-01', 'pc-02', 'pc-03'];
  const body = planOf('audit fails once', hosts);
  const real = new AuditLog(scheduler.models, Date.now);
  let fail = true;
  const audit = Object.assign(Object.create(real) as AuditLog, {
    record: async (...args: Parameters<AuditLog['record']>) => {
      if (fail) {
        fail = false;
        throw new UnavailableError('injected: the audit write failed');
      }
      return real.record(...args);
    },
  });
  const plans = service({ audit });

  await assert.rejects(plans.create(body, 'op', { idempotencyKey: 'key-audit' }), /injected/);
  assert.equal(await leftOf(body.name, hosts), JSON.stringify({ plans: 0, runs: 0, audit: 0, live: 0 }), 'nothing is left');

  const plan = await plans.create(body, 'op', { idempotencyKey: 'key-audit' });
  const again = await plans.create(body, 'op', { idempotencyKey: 'key-audit' });
  assert.equal(again._id, plan._id, 'the retry gets the same plan');
  assert.equal(await leftOf(body.name, hosts), JSON.stringify({ plans: 1, runs: 4, audit: 1, live: 4 }), 'created once');
});

test('a plan the engine fails to take is not left behind; a retry with the same key creates it once', async () => {
  const hosts = ['pc-04', 'pc-05', 'pc-06', 'pc-07'];
  const body = planOf('engine fails once', hosts);
  const real = scheduler.engine;
  let fail = true;
  const engine = {
    plans: real.plans,
    livePlanOf: (hostId: string) => real.livePlanOf(hostId),
    runtime: (planId: string) => real.runtime(planId),
    removePlan: (planId: string) => real.removePlan(planId),
    holdHosts: (...args: Parameters<Engine['holdHosts']>) => real.holdHosts(...args),
    releaseHosts: (planId: string) => real.releaseHosts(planId),
    addPlan: (...args: Parameters<Engine['addPlan']>) => {
      if (fail) {
        fail = false;
        throw new UnavailableError('injected: the engine did not take the plan');
      }
      real.addPlan(...args);
    },
  } as unknown as Engine;
  const plans = service({ engine });

  await assert.rejects(plans.create(body, 'op', { idempotencyKey: 'key-engine' }), /injected/);
  assert.equal(await leftOf(body.name, hosts), JSON.stringify({ plans: 0, runs: 0, audit: 0, live: 0 }), 'nothing is left');

  const plan = await plans.create(body, 'op', { idempotencyKey: 'key-engine' });
  assert.equal((await plans.create(body, 'op', { idempotencyKey: 'key-engine' }))._id, plan._id);
  assert.equal(await leftOf(body.name, hosts), JSON.stringify({ plans: 1, runs: 4, audit: 1, live: 4 }), 'created once');
});

test('POST /v1/plans with the same Idempotency-Key answers the same plan; another body with it is refused', async () => {
  const hosts = ['pc-08', 'pc-09'];
  const body = planOf('api retry', hosts);
  const post = (payload: object, key: string) =>
    stack.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      payload: JSON.stringify(payload),
    });
  const first = await post(body, 'key-api');
  assert.equal(first.statusCode, 201, first.body);
  const retry = await post(body, 'key-api');
  assert.ok([200, 201].includes(retry.statusCode), retry.body);
  assert.equal(retry.json().id, first.json().id, 'the retry answers the same plan');
  assert.equal(await leftOf(body.name, hosts), JSON.stringify({ plans: 1, runs: 2, audit: 1, live: 2 }), 'created once');

  const other = planOf('api retry, another body', ['pc-10', 'pc-11']);
  await assert.rejects(
    service().create(other, 'op', { idempotencyKey: 'key-api' }),
    (err: Error & { code?: string; httpStatus?: number }) => {
      assert.equal(err.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(err.httpStatus, 422);
      return true;
    },
  );
  assert.equal(await leftOf(other.name, ['pc-10', 'pc-11']), JSON.stringify({ plans: 0, runs: 0, audit: 0, live: 0 }));
});

test('a commit whose answer is lost is found by checking again: the creation succeeds', async () => {
  const hosts = ['pc-12', 'pc-13'];
  const body = planOf('commit answer lost', hosts);
  const { models, state } = lossyPlans({ lands: true, failures: 2 });
  const plan = await service({ models }).create(body, 'op');
  assert.equal(state.checks, 3, 'asked until the database answered');
  assert.equal(scheduler.engine.livePlanOf('pc-12'), plan._id);
  assert.equal(await leftOf(body.name, hosts), JSON.stringify({ plans: 1, runs: 2, audit: 1, live: 2 }));
});

test('a commit nobody can confirm holds its hosts until settled; then the stored plan runs', async () => {
  const hosts = ['pc-14', 'pc-15'];
  const body = planOf('commit unknown, stored', hosts);
  const { models, state } = lossyPlans({ lands: true, down: true });
  await assert.rejects(service({ models }).create(body, 'op'), /injected|not known/);
  const stored = await scheduler.models.Plan.findOne({ name: body.name }, { _id: 1 }).lean<{ _id: string }>();
  assert.ok(stored, 'the insert landed');
  assert.equal(scheduler.engine.livePlanOf('pc-14'), stored._id, 'its hosts are held');
  await assert.rejects(service().create(planOf('takes held hosts', hosts), 'op'), { code: 'HOSTS_IN_ANOTHER_PLAN' });

  state.down = false;
  await waitUntil(async () => ({ done: scheduler.engine.runtime(stored._id) !== undefined, value: undefined, state: `${state.checks}` }), {
    what: 'the stored plan in the engine',
  });
  assert.equal(await leftOf(body.name, hosts), JSON.stringify({ plans: 1, runs: 2, audit: 1, live: 2 }));
  assert.equal(await scheduler.models.Plan.countDocuments({ name: 'takes held hosts' }), 0);
});

test('a commit nobody can confirm that did not land is discarded once settled, freeing its hosts', async () => {
  const hosts = ['pc-16', 'pc-17'];
  const body = planOf('commit unknown, not stored', hosts);
  const { models, state } = lossyPlans({ lands: false, down: true });
  await assert.rejects(service({ models }).create(body, 'op'), /injected|not known/);
  assert.notEqual(scheduler.engine.livePlanOf('pc-16'), null, 'its hosts are held');

  state.down = false;
  await waitUntil(async () => ({ done: scheduler.engine.livePlanOf('pc-16') === null, value: undefined, state: `${state.checks}` }), {
    what: 'the hosts released',
  });
  await waitUntil(
    async () => {
      const left = await leftOf(body.name, hosts);
      return { done: left === JSON.stringify({ plans: 0, runs: 0, audit: 0, live: 0 }), value: undefined, state: left };
    },
    { what: 'nothing left of the creation' },
  );
});
