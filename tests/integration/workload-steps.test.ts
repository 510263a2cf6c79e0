// Workload hooks as the scheduler runs them (issue 15): a host whose agent detected roles
// is drained after its precheck and undrained before its postcheck; when its upgrade
// fails it is rolled back and then undrained; a host with no roles walks the plain
// migration. Simulated agents on the real bus, the scheduler in process.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { waitUntil } from '../fixtures/wait.ts';

let s: InProcessStack;

before(async () => {
  s = await startInProcess('workload_steps');
  await s.addFleet({
    pool: 'wk',
    prefix: 'wk',
    size: 4,
    clusters: 1,
    roles: [{ hosts: ['wk-0', 'wk-1'], role: 'containers' }],
    failures: [{ step: 'upgrade', hosts: ['wk-1', 'wk-3'] }],
  });
});

after(async () => {
  await s?.stop();
});

test('drained hosts get their workloads back after the upgrade, and after a rollback', async () => {
  const res = await s.inject({
    method: 'POST',
    url: '/v1/plans',
    payload: {
      name: 'workloads',
      selector: { pool: 'wk' },
      profile: 'debian-11-to-12',
      canary: { count: 4 },
      errorBudget: { plan: { count: 3 } },
      clusterCheck: { minHealthyPercent: 0 },
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  const planId = (res.json() as PlanView).id;
  await waitUntil(
    async () => {
      const p = (await s.inject({ method: 'GET', url: `/v1/plans/${planId}` })).json() as PlanView;
      return { done: p.state === 'completed', value: p, state: p.state };
    },
    { what: 'the plan completed' },
  );
  const hosts = ((await s.inject({ method: 'GET', url: `/v1/plans/${planId}/hosts` })).json() as { hosts: RunView[] }).hosts;
  const of = (id: string) => hosts.find((h) => h.hostId === id) as RunView;
  const steps = (id: string) => of(id).history.map((h) => `${h.step}:${h.outcome}`);
  const drained = ['cluster-check', 'precheck', 'drain', 'backup', 'upgrade', 'reboot', 'undrain', 'postcheck'];
  assert.deepEqual(of('wk-0').path, drained);
  assert.deepEqual(
    steps('wk-0'),
    drained.map((s) => `${s}:succeeded`),
  );
  assert.equal(of('wk-0').state, 'succeeded');
  assert.deepEqual(steps('wk-1'), [
    'cluster-check:succeeded',
    'precheck:succeeded',
    'drain:succeeded',
    'backup:succeeded',
    'upgrade:failed',
    'rollback:succeeded',
    'undrain:succeeded',
  ]);
  assert.deepEqual({ state: of('wk-1').state, rollback: of('wk-1').rollback }, { state: 'failed', rollback: 'succeeded' });
  assert.deepEqual(
    of('wk-2').path,
    ['cluster-check', 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'],
    'no roles: nothing to drain',
  );
  assert.equal(of('wk-2').state, 'succeeded');
  assert.deepEqual(steps('wk-3').slice(-2), ['upgrade:failed', 'rollback:succeeded'], 'no roles: no undrain after the rollback');
});
