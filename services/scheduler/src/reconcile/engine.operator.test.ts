// The engine end to end without containers: in-memory ports and a fake clock drive takes,
// deadlines and retries, and the operator's abort (hosts in flight finish or roll back),
// retry-failed and resume.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeRun, memoryEngine, testPlan, testRun } from './engine.fixtures.ts';
import { PlanConflictError } from './engine.ts';

const T0 = Date.parse('2030-01-07T10:00:00Z');
const failure = { step: 'precheck' as const, kind: 'execution' as const, code: 'X', message: 'x', seq: 1, at: new Date(T0) };

test('a tick takes pending hosts and sends each its cluster-check', async () => {
  const plan = testPlan('p-take', 3, { budget: 3 });
  const { engine, sent } = memoryEngine(
    plan,
    [0, 1, 2].map((i) => testRun(plan._id, `h${i}`, i)),
    T0,
  );
  await engine.tick();
  await engine.stop();
  assert.deepEqual(
    sent.map((s) => [s.hostId, s.what]),
    [
      ['h0', 'cluster-check'],
      ['h1', 'cluster-check'],
      ['h2', 'cluster-check'],
    ],
  );
  assert.equal(engine.runtime(plan._id)?.counters.active, 3);
});

test('a step past its deadline is cancelled and retried (a timeout), the next attempt with a new deadline', async () => {
  const plan = testPlan('p-deadline', 1);
  const run = activeRun(testRun(plan._id, 'h0', 0), { step: 'cluster-check', deadlineAt: new Date(T0 + 1_000) }, T0);
  const { engine, clock, sent } = memoryEngine(plan, [run], T0);
  await engine.tick();
  await engine.stop();
  assert.equal(sent.length, 0, 'before the deadline: nothing');
  clock.now = T0 + 1_001;
  await engine.tick();
  await engine.stop();
  const after = engine.runtime(plan._id)?.run(run._id);
  assert.deepEqual([after?.step, after?.attempt, after?.stepState], ['cluster-check', 2, 'dispatching']);
  assert.equal(after?.history.at(-1)?.code, 'STEP_DEADLINE');
  assert.deepEqual(
    sent.map((s) => [s.runId, s.what]),
    [
      [run.runId, 'cancel cluster-check'],
      [run.runId, 'cluster-check'],
    ],
  );
});

test('abort with rollback: a changed host rolls back, an unchanged one is released, a pending one stays', async () => {
  const plan = testPlan('p-abort-rb', 3);
  const changed = activeRun(testRun(plan._id, 'h0', 0), { step: 'upgrade' }, T0);
  const unchanged = activeRun(testRun(plan._id, 'h1', 1), { step: 'precheck' }, T0);
  const { engine, sent } = memoryEngine(plan, [changed, unchanged, testRun(plan._id, 'h2', 2)], T0);
  const aborted = await engine.abort(plan._id, 'op', 'rollback');
  await engine.stop();
  assert.deepEqual([aborted.state, aborted.abortMode], ['aborting', 'rollback']);
  const rt = engine.runtime(plan._id);
  assert.ok(rt);
  const h0 = rt.run(changed._id);
  assert.deepEqual([h0.state, h0.step, h0.rollback, h0.failure?.code], ['active', 'rollback', 'running', 'PLAN_ABORTED']);
  const h1 = rt.run(unchanged._id);
  assert.deepEqual([h1.state, h1.step, h1.failure], ['pending', null, null]);
  assert.notEqual(h1.slots.at(-1)?.releasedAt, null);
  assert.equal(rt.run(`${plan._id}/h2`).version, 0, 'the pending host was not touched');
  assert.deepEqual(sent.map((s) => [s.hostId, s.what]).sort(), [
    ['h0', 'cancel upgrade'],
    ['h0', 'rollback'],
    ['h1', 'cancel precheck'],
  ]);
  await engine.tick();
  await engine.stop();
  assert.equal(engine.runtime(plan._id)?.plan.state, 'aborting', 'a host rolling back keeps the plan aborting');
});

test('abort, hosts in flight finish: nothing is cancelled; no host starts any more', async () => {
  const plan = testPlan('p-abort-finish', 2);
  const running = activeRun(testRun(plan._id, 'h0', 0), { step: 'upgrade' }, T0);
  const { engine, sent } = memoryEngine(plan, [running, testRun(plan._id, 'h1', 1)], T0);
  await engine.abort(plan._id, 'op', 'finish');
  await engine.tick();
  await engine.stop();
  assert.equal(sent.length, 0);
  assert.equal(engine.runtime(plan._id)?.runs.get(running._id)?.step, 'upgrade');
  assert.equal(engine.runtime(plan._id)?.runs.get(`${plan._id}/h1`)?.state, 'pending');
  await assert.rejects(engine.abort(plan._id, 'op', 'rollback'), PlanConflictError, 'already aborting');
});

test('an exhausted budget refuses resume; retry-failed puts failed hosts back and the plan runs again', async () => {
  const plan = testPlan('p-budget', 3, { budget: 1, state: 'budget-exhausted' });
  plan.phases = [{ index: 0, name: 'canary', size: 3, budget: 3 }];
  const failed = testRun(plan._id, 'h0', 0, { state: 'failed', failure });
  const { engine } = memoryEngine(plan, [failed, testRun(plan._id, 'h1', 1), testRun(plan._id, 'h2', 2)], T0);
  await assert.rejects(engine.resume(plan._id, 'op'), /error budget exhausted: 1 of 1 failures allowed/);
  assert.deepEqual(await engine.retryFailed(plan._id, 'op'), { retried: 1 });
  const rt = engine.runtime(plan._id);
  assert.equal(rt?.plan.state, 'running');
  const retried = rt?.run(failed._id);
  assert.deepEqual([retried?.state, retried?.failure, retried?.previousRunIds], ['pending', null, [failed.runId]]);
  await engine.stop();
});
