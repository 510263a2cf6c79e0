// A plan's rollback requirement (`rollback: snapshot | packages | any`) from the operator to
// the agents: refused with the field named when it is not one of them, stored on the plan,
// and carried on the bus in every step command of the plan's hosts. The agent's side (the
// command's field in the driver's step context) is tested in host-agent's agent.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Bus, createRegistry, silentLogger, stepName } from '@yixing/common';
import type { Scheduler } from '@yixing/scheduler';
import { runYx } from '../fixtures/cli-io.ts';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: InProcessStack;
let scheduler: Scheduler;
/** Every step command sent on the bus, as an agent receives it. */
const commands: { planId: string; hostId: string; step: string; rollbackRequired: string }[] = [];

const plan = {
  name: 'rollback requirement',
  selector: { pool: 'rb' },
  profile: 'debian-11-to-12',
  canary: { count: 1 },
  promotion: { mode: 'auto', soakSeconds: 0 },
  limits: { maxInFlight: 4 },
  errorBudget: { plan: { count: 1 } },
  clusterCheck: { minHealthyPercent: 0 },
};

before(async () => {
  stack = await startInProcess('plan_rollback');
  scheduler = stack.scheduler;
  const log = silentLogger();
  // Listens beside the agents (it never answers): what the scheduler puts on the wire.
  new Bus({ nc: stack.nc, log, registry: createRegistry('test', { processMetrics: false }) }).subscribe('agentCommand', {}, (cmd) => {
    if (cmd.action.case !== 'runStep') return;
    const s = cmd.action.value;
    commands.push({ planId: s.planId, hostId: cmd.hostId, step: stepName(s.step), rollbackRequired: s.rollbackRequired });
  });
  await stack.addFleet({ pool: 'rb', prefix: 'rb', size: 4, clusters: 2 });
});

after(async () => {
  await stack?.stop();
});

async function counts(): Promise<string> {
  const { Plan, RunState, Audit } = scheduler.models;
  return JSON.stringify(await Promise.all([Plan.countDocuments(), RunState.countDocuments(), Audit.countDocuments()]));
}

async function completed(planId: string): Promise<void> {
  await waitUntil(
    async () => {
      const p = (await stack.inject({ method: 'GET', url: `/v1/plans/${planId}` })).json() as {
        state: string;
        percentDone: number;
      };
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
    },
    { what: `plan ${planId} to complete` },
  );
}

test('a rollback requirement that is not snapshot, packages or any is refused, naming the field; nothing is written', async () => {
  const before = await counts();
  for (const rollback of ['lvm', 'Snapshot', '', 1, null]) {
    const res = await stack.inject({ method: 'POST', url: '/v1/plans', payload: { ...plan, rollback } });
    assert.equal(res.statusCode, 400, res.body);
    const { error } = res.json() as { error: { field: string; message: string } };
    assert.equal(error.field, 'body.rollback', error.message);
  }
  const res = await stack.inject({ method: 'POST', url: '/v1/plans', payload: { ...plan, rollback: 'lvm' } });
  assert.match(
    (res.json() as { error: { message: string } }).error.message,
    /^body\.rollback: must be one of "any", "snapshot", "packages"$/,
  );
  assert.equal(await counts(), before, 'a refused plan wrote something');
});

test('the requirement is stored on the plan and sent with every step; a plan without one requires any', async () => {
  const res = await stack.inject({ method: 'POST', url: '/v1/plans', payload: { ...plan, rollback: 'snapshot' } });
  assert.equal(res.statusCode, 201, res.body);
  const { id } = res.json() as { id: string };
  const shown = (await stack.inject({ method: 'GET', url: `/v1/plans/${id}` })).json() as { spec: { rollback: string } };
  assert.equal(shown.spec.rollback, 'snapshot');
  assert.equal((await scheduler.models.Plan.findById(id).lean())?.spec.rollback, 'snapshot');
  await completed(id);

  const plain = await stack.inject({ method: 'POST', url: '/v1/plans', payload: { ...plan, name: 'no requirement' } });
  assert.equal(plain.statusCode, 201, plain.body);
  const other = (plain.json() as { id: string }).id;
  assert.equal((await scheduler.models.Plan.findById(other).lean())?.spec.rollback, 'any');
  await completed(other);

  // Core NATS delivers to every subscriber: by the time the plans completed, each command reached the listener too.
  for (const [planId, required] of [
    [id, 'snapshot'],
    [other, 'any'],
  ] as const) {
    const sent = commands.filter((c) => c.planId === planId);
    assert.equal(new Set(sent.map((c) => c.hostId)).size, 4, `plan ${planId}: commands to every host`);
    assert.ok(sent.some((c) => c.step === 'upgrade'));
    assert.deepEqual(new Set(sent.map((c) => c.rollbackRequired)), new Set([required]), `plan ${planId}`);
  }
});

test('yx plan create takes the requirement from the plan file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-plan-rollback-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'plan.yaml');
  await writeFile(
    file,
    [
      'name: from a file',
      'selector: { pool: rb }',
      'profile: debian-11-to-12',
      'limits: { maxInFlight: 4 }',
      'promotion: { mode: auto, soakSeconds: 0 }',
      'errorBudget: { plan: { count: 1 } }',
      'clusterCheck: { minHealthyPercent: 0 }',
      'rollback: packages',
      '',
    ].join('\n'),
  );
  const created = await runYx(stack.apiUrl, ['plan', 'create', '-f', file, '--json']);
  assert.equal(created.code, 0, created.stderr);
  const { id } = JSON.parse(created.stdout) as { id: string };
  assert.equal((await scheduler.models.Plan.findById(id).lean())?.spec.rollback, 'packages');
  await completed(id);
  assert.deepEqual(new Set(commands.filter((c) => c.planId === id).map((c) => c.rollbackRequired)), new Set(['packages']));
});
