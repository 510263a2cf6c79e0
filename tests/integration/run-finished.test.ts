// RunFinished starts a run's backup retention; it must reach the stream even when its
// first publish is lost. The scheduler keeps it in an outbox (the stored final state,
// not yet marked announced) and sends it again until the stream acknowledges it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { catalog, PublishUnavailableError, subjectPattern } from '@yixing/common';
import type { PlanDoc } from '@yixing/scheduler/internal';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: InProcessStack;

before(async () => {
  stack = await startInProcess('run_finished', { announceRetryMs: 200 });
  await stack.addFleet({ pool: 'rf', prefix: 'rf', size: 4, clusters: 2 });
});

after(async () => {
  await stack?.stop();
});

test('a RunFinished whose first publish is lost still reaches the stream, once per run', async () => {
  const { scheduler } = stack;
  const bus = scheduler.bus;
  const publish = bus.publishDurable.bind(bus);
  let lost = 0;
  bus.publishDurable = (async (...args: Parameters<typeof bus.publishDurable>) => {
    if (args[0] === 'runFinished' && lost === 0) {
      lost++;
      throw new PublishUnavailableError('injected: JetStream did not acknowledge within the deadline');
    }
    return publish(...args);
  }) as typeof bus.publishDurable;

  const res = await stack.inject({
    method: 'POST',
    url: '/v1/plans',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      name: 'run finished',
      selector: { pool: 'rf' },
      profile: 'debian-11-to-12',
      canary: { count: 4 },
      limits: { maxInFlight: 4, perCluster: { count: 1 } },
      errorBudget: { plan: { count: 1 } },
      clusterCheck: { minHealthyPercent: 40 },
    }),
  });
  assert.equal(res.statusCode, 201, res.body);
  const planId = (res.json() as { id: string }).id;
  await waitUntil(
    async () => {
      const plan = await scheduler.models.Plan.findById(planId).lean<PlanDoc>();
      return { done: plan?.state === 'completed', value: undefined, state: plan?.state ?? 'missing' };
    },
    { what: `plan ${planId} completed` },
  );
  assert.equal(lost, 1, 'a RunFinished publish was lost');

  const runs = await scheduler.runs.loadPlan(planId);
  assert.equal(runs.length, 4);
  const jsm = await jetstreamManager(stack.nc);
  const stream = catalog.runFinished.stream;
  const info = await jsm.streams.info(stream, { subjects_filter: subjectPattern('runFinished') });
  const perHost = info.state.subjects ?? {};
  assert.deepEqual(
    Object.fromEntries(runs.map((r) => [r.hostId, perHost[subjectPattern('runFinished', { hostId: r.hostId })] ?? 0])),
    Object.fromEntries(runs.map((r) => [r.hostId, 1])),
    'one RunFinished per run reached the stream',
  );
  assert.equal(await scheduler.models.RunAnnounced.countDocuments({ _id: { $in: runs.map((r) => r.runId) } }), 4);
});
