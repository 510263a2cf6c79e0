// 10 % of the agents vanish mid-step and come back: the fleet runs as 10 processes of 12
// hosts, and one of them is SIGKILLed while its hosts run steps, kept down well past the
// scheduler's heartbeat grace, and started again on the same state directory.
//
// What must happen: the scheduler notices (HEARTBEAT_LOST) and follows the plan's rules
// for each host it loses mid-step (no retries here: a step that changed the host is
// rolled back, one that did not fails the run); that verdict stands. The agents, back,
// resume the step they had persisted and finish it unheard (journalled, not applied),
// then take the commands the scheduler sends (the rollbacks) and the hosts that were not
// yet in flight migrate as usual. Every host ends final, no step runs twice, and every
// outcome an agent reported is what the scheduler recorded, but for its verdicts.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import { loadPlan } from '../fixtures/history.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { assertRunsExact, chaosPlan, chaosSim } from '../fixtures/run-checks.ts';
import { api, type FleetOptions, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const FLEETS = 10;
const PER_FLEET = 12;
const HOSTS = FLEETS * PER_FLEET;
/** Short liveness limits: a vanished agent is noticed within seconds. */
const LIVENESS = { YX_HEARTBEAT_GRACE_MS: '3000', YX_UNREACHABLE_AFTER_MS: '20000' };

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let journal: string;
const fleets: { opts: FleetOptions; proc: ServiceProcess }[] = [];

function fleetOpts(i: number): FleetOptions {
  // One journal for all: each process appends whole lines (O_APPEND).
  return { size: PER_FLEET, offset: i * PER_FLEET, clusters: 6, pool: 'vanish', prefix: 'van', journal, sim: chaosSim('agents-vanish') };
}

before(async () => {
  stack = await startStack('agents-vanish');
  journal = path.join(stack.dir, 'journal.jsonl');
  scheduler = await startScheduler(stack, LIVENESS, 'scheduler');
  for (let i = 0; i < FLEETS; i++) {
    const opts = fleetOpts(i);
    fleets.push({ opts, proc: await startFleet(stack, opts, `fleet-${i}-0`) });
  }
  await waitForHosts(scheduler.api, HOSTS);
});

after(async () => {
  for (const f of fleets) await f.proc.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
});

test('10 % of the agents vanish mid-step and come back: every host final, no step twice, no event lost', async () => {
  const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', chaosPlan('agents-vanish', 'vanish'));

  // The victim: a fleet process with two hosts or more past their cluster check, running a
  // step other than a reboot (a vanished agent is allowed that: only its deadline applies),
  // one of them early in its upgrade (time left to lose it there): its loss means a rollback.
  const { victim, running } = await waitUntil(
    async () => {
      const { hosts } = await api<{ hosts: RunView[] }>(scheduler.api, 'GET', `/v1/plans/${plan.id}/hosts?limit=1000`);
      const busy = hosts.filter(
        (h) => h.state === 'active' && h.stepState === 'running' && h.step !== 'reboot' && h.step !== 'cluster-check',
      );
      const on = (i: number) => busy.filter((h) => fleetIndexOf(h.hostId) === i);
      const fit = fleets.findIndex((_f, i) => on(i).length >= 2 && on(i).some((h) => h.step === 'upgrade' && (h.percent ?? 0) < 40));
      return {
        done: fit >= 0,
        value: { victim: fit, running: on(fit).map((h) => h.hostId) },
        state: fleets
          .map((_f, i) =>
            on(i)
              .map((h) => h.step)
              .join('+'),
          )
          .join(','),
      };
    },
    { what: 'a fleet process with two hosts mid-step, one early in its upgrade', intervalMs: 50 },
  );
  const lost = fleets[victim] as { opts: FleetOptions; proc: ServiceProcess };
  assert.equal(await lost.proc.kill('SIGKILL'), 'SIGKILL');

  // Down until the scheduler has noticed: one host lost, then a grace more for the rest.
  const noticed = await waitUntil(
    async () => {
      const { runs } = await loadPlan(stack.db, plan.id);
      const lostHosts = runs.filter((r) => fleetIndexOf(r.hostId) === victim && r.history.some((h) => h.code === 'HEARTBEAT_LOST'));
      return { done: lostHosts.length > 0, value: lostHosts.length, state: String(lostHosts.length) };
    },
    { what: `the scheduler to notice fleet ${victim} gone (${running.join(', ')} were mid-step)` },
  );
  assert.ok(noticed > 0);
  await sleep(Number(LIVENESS.YX_HEARTBEAT_GRACE_MS) + 2000);
  lost.proc = await startFleet(stack, lost.opts, `fleet-${victim}-1`);

  const done = await waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
      // An injected failure may land in the canary, which then waits for an operator.
      if (p.state === 'waiting-approval') await api(scheduler.api, 'POST', `/v1/plans/${plan.id}/approve`);
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
    },
    { what: 'the plan to complete after the agents came back' },
  );
  assert.equal(done.counters.succeeded + done.counters.failed, HOSTS);

  // The hosts lost mid-step followed the plan's rules: a cluster check (which changes
  // nothing) is deferred and the host tried again later; any other step fails the run, no
  // retries (after a rollback when the step had changed the host). The verdict stands even
  // though their agents, back, finished the step (assertRunsExact checks they did).
  const { runs } = await loadPlan(stack.db, plan.id);
  const lostMidStep = runs.filter((r) => r.history.some((h) => h.code === 'HEARTBEAT_LOST'));
  assert.ok(lostMidStep.length > 0, 'the scheduler noticed hosts gone mid-step');
  for (const run of lostMidStep) {
    assert.equal(fleetIndexOf(run.hostId), victim, `${run.hostId} was lost, but its agent never vanished`);
    const lostIn = run.history.filter((h) => h.code === 'HEARTBEAT_LOST').map((h) => h.step);
    if (lostIn.every((step) => step === 'cluster-check')) continue;
    assert.equal(run.state, 'failed', `${run.hostId}, lost in ${lostIn.join(', ')}, ended ${run.state}`);
    // A lost step that changed the host is followed by a rollback, which the agent, back, ran.
    if (lostIn.some((step) => step === 'upgrade' || step === 'postcheck')) assert.equal(run.history.at(-1)?.step, 'rollback');
  }
  assert.ok(
    lostMidStep.some((r) => r.history.some((h) => h.code === 'HEARTBEAT_LOST' && (h.step === 'upgrade' || h.step === 'postcheck'))),
    'a host was lost while its step changed it',
  );
  // The victim's other hosts were not harmed: what failed there failed by an injected failure.
  const bystanders = runs.filter((r) => fleetIndexOf(r.hostId) === victim && !lostMidStep.includes(r));
  for (const run of bystanders)
    assert.ok(
      run.state === 'succeeded' || run.history.some((h) => h.code !== '' && h.kind !== 'unreachable'),
      `${run.hostId} ended ${run.state}`,
    );

  await assertRunsExact(stack.db, plan.id, journal, { unreachableVerdicts: true });
});

/** Which fleet process carries a host: its number in the fleet, by the offsets. */
function fleetIndexOf(hostId: string): number {
  return Math.floor(Number(hostId.split('-').at(-1)) / PER_FLEET);
}
