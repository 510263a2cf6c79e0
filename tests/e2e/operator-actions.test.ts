// What operators do to a running plan: a maintenance window keeps hosts from starting
// before it opens; pause stops new starts and resume goes on; a failed upgrade held for
// an operator is rolled back on request; abort with rollback brings changed hosts back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { api } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

let s: InProcessStack;

before(async () => {
  s = await startInProcess('operator_actions');
  await s.addFleet({
    pool: 'ops',
    prefix: 'ops',
    size: 12,
    clusters: 12,
    stepMs: 60,
    failures: [{ step: 'upgrade', hosts: ['ops-09', 'ops-10'] }],
  });
});

after(async () => {
  await s?.stop();
});

const base = {
  profile: 'debian-11-to-12',
  canary: { count: 1 },
  promotion: { mode: 'auto', soakSeconds: 0 },
  limits: { maxInFlight: 4 },
  errorBudget: { plan: { count: 4 } },
};

async function plan(id: string): Promise<PlanView> {
  return api<PlanView>(s.apiUrl, 'GET', `/v1/plans/${id}`);
}

async function hosts(id: string): Promise<RunView[]> {
  return (await api<{ hosts: RunView[] }>(s.apiUrl, 'GET', `/v1/plans/${id}/hosts`)).hosts;
}

async function until(id: string, what: string, done: (p: PlanView) => boolean): Promise<PlanView> {
  return waitUntil(
    async () => {
      const p = await plan(id);
      return { done: done(p), value: p, state: `${p.state} ${p.percentDone} ${p.counters.inFlight}` };
    },
    { what: `${id}: ${what}` },
  );
}

test('no host starts before its maintenance window opens', async () => {
  const opens = Date.now() + 2500;
  const p = await api<PlanView>(s.apiUrl, 'POST', '/v1/plans', {
    ...base,
    name: 'windowed',
    selector: { hosts: ['ops-00', 'ops-01', 'ops-02'] },
    windows: [{ start: new Date(opens).toISOString(), end: new Date(opens + 3600_000).toISOString() }],
    windowCutoffMinutes: 10,
  });
  await until(p.id, 'completed', (v) => v.state === 'completed');
  const runs = await hosts(p.id);
  for (const r of runs)
    for (const slot of r.slots) assert.ok(new Date(slot.takenAt).getTime() >= opens, `${r.hostId} started before the window`);
});

test('pause stops new starts; resume goes on to the end', async () => {
  const p = await api<PlanView>(s.apiUrl, 'POST', '/v1/plans', {
    ...base,
    name: 'paused',
    selector: { hosts: ['ops-03', 'ops-04', 'ops-05', 'ops-06', 'ops-07', 'ops-08'] },
    limits: { maxInFlight: 1 },
  });
  await until(p.id, 'a host started', (v) => v.counters.active + v.counters.succeeded > 0);
  await api(s.apiUrl, 'POST', `/v1/plans/${p.id}/pause`, {});
  // Hosts in flight finish; then nothing more starts while paused.
  const paused = await until(p.id, 'in-flight hosts done', (v) => v.counters.active === 0);
  assert.equal(paused.state, 'paused');
  const takenAtPause = (await hosts(p.id)).filter((r) => r.slots.length > 0).length;
  await sleep(1000);
  assert.equal((await hosts(p.id)).filter((r) => r.slots.length > 0).length, takenAtPause, 'a host started while paused');
  assert.ok(takenAtPause < 6);
  await api(s.apiUrl, 'POST', `/v1/plans/${p.id}/resume`, {});
  const done = await until(p.id, 'completed', (v) => v.state === 'completed');
  assert.equal(done.counters.succeeded, 6);
  const audit = await api<{ entries: { action: string }[] }>(s.apiUrl, 'GET', `/v1/audit?planId=${p.id}`);
  assert.deepEqual(audit.entries.map((e) => e.action).sort(), ['plan.create', 'plan.pause', 'plan.resume']);
});

test('a failed upgrade held for an operator is rolled back on request', async () => {
  const p = await api<PlanView>(s.apiUrl, 'POST', '/v1/plans', {
    ...base,
    name: 'held',
    selector: { hosts: ['ops-09'] },
    onFailure: 'hold',
  });
  await until(p.id, 'the host held', (v) => v.counters.held === 1);
  const [held] = await hosts(p.id);
  assert.equal(held?.state, 'held');
  assert.equal(held?.failure?.step, 'upgrade');
  // A held host keeps its slot and counts against the budget.
  assert.equal((await plan(p.id)).counters.inFlight, 1);
  assert.equal((await plan(p.id)).budget.used, 1);
  await api(s.apiUrl, 'POST', `/v1/plans/${p.id}/hosts/ops-09/rollback`, {});
  const done = await until(p.id, 'completed', (v) => v.state === 'completed');
  assert.equal(done.counters.rolledBack, 1);
  const [after] = await hosts(p.id);
  assert.deepEqual(
    after?.history.map((h) => `${h.step}:${h.outcome}`),
    ['cluster-check:succeeded', 'precheck:succeeded', 'backup:succeeded', 'upgrade:failed', 'rollback:succeeded'],
  );
});

test('abort with rollback: nothing new starts and a changed host is rolled back', async () => {
  const p = await api<PlanView>(s.apiUrl, 'POST', '/v1/plans', {
    ...base,
    name: 'aborted',
    selector: { hosts: ['ops-10', 'ops-11'] },
    canary: { count: 2 },
    limits: { maxInFlight: 1 },
  });
  // ops-10's upgrade fails and it rolls back by itself; abort while the plan is under way.
  await until(p.id, 'a host past its backup', (v) => v.counters.active + v.counters.failed + v.counters.succeeded > 0);
  await api(s.apiUrl, 'POST', `/v1/plans/${p.id}/abort`, { inFlight: 'rollback' });
  const done = await until(p.id, 'aborted', (v) => v.state === 'aborted');
  assert.equal(done.counters.active, 0);
  const runs = await hosts(p.id);
  for (const r of runs) {
    const steps = r.history.map((h) => h.step);
    if (steps.includes('upgrade')) assert.equal(r.rollback, 'succeeded', `${r.hostId} changed and was not rolled back`);
    else assert.ok(['pending', 'failed'].includes(r.state), `${r.hostId} is ${r.state}`);
  }
  assert.ok(
    runs.some((r) => r.state === 'pending' || r.rollback === 'succeeded'),
    'abort stopped the plan before every host had migrated',
  );
});
