// Two scheduler replicas share one leader lease (a JetStream KV key). Mid-plan, the
// leader is SIGKILLed four times (the follower takes over; the killed one comes back as
// the follower) and once SIGSTOPped past the lease's deadline (the follower takes over;
// the paused one, woken, finds itself deposed and exits without acting). Every host must
// end final, no step may run twice and no event may be lost. Meanwhile the follower
// serves reads and sends writers to the leader.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlanView } from '@yixing/scheduler/internal';
import { bearer } from '../fixtures/api-access.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { assertRunsExact, chaosPlan, chaosSim } from '../fixtures/run-checks.ts';
import { type Replica, SchedulerReplicas } from '../fixtures/scheduler-replicas.ts';
import { api, type Stack, startFleet, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

/** Short lease timings, so that a take-over happens within the test's seconds. */
const LEASE = { YX_LEASE_TTL_MS: '4000', YX_LEASE_RENEW_MS: '500', YX_LEASE_DEADLINE_MS: '3000' };
const HOSTS = 120;

let stack: Stack;
let fleet: ServiceProcess;
let journal: string;
let replicas: SchedulerReplicas;
const leaderAndFollower = () => replicas.leaderAndFollower();

before(async () => {
  stack = await startStack('scheduler-replicas');
  journal = path.join(stack.dir, 'journal.jsonl');
  replicas = new SchedulerReplicas(stack, LEASE);
  await replicas.add('sched-a');
  await replicas.add('sched-b');
  fleet = await startFleet(stack, {
    size: HOSTS,
    clusters: 6,
    pool: 'replicas',
    prefix: 'rep',
    journal,
    sim: chaosSim('scheduler-replicas'),
  });
  await waitForHosts((replicas.list[0] as Replica).api, HOSTS);
});

after(async () => {
  await fleet?.kill();
  await replicas?.stop();
  await stack?.stop();
});

test('the leader SIGKILLed 4 times and paused once mid-plan: the follower takes over; no step twice, no event lost', async () => {
  let { leader, follower } = await leaderAndFollower();

  // The follower reads; a change sent to it is refused with the leader's address, and changes nothing.
  const refused = await fetch(new URL('/v1/plans', follower.api), {
    method: 'POST',
    headers: { ...bearer('admin'), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x', selector: { pool: 'replicas' }, profile: 'debian-11-to-12' }),
  });
  const body = (await refused.json()) as { error: { code: string; url?: string } };
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.equal(body.error.code, 'NOT_LEADER');
  assert.equal(body.error.url, leader.api);
  assert.deepEqual((await api<{ items: unknown[] }>(follower.api, 'GET', '/v1/plans')).items, []);

  const plan = await api<PlanView>(leader.api, 'POST', '/v1/plans', chaosPlan('replicas', 'replicas'));

  const takeOvers: number[] = [];
  const doneAtFault: number[] = [];
  for (let i = 1; i <= 5; i++) {
    await sleep(1000 + Math.floor(Math.random() * 2000));
    // The follower serves the plan from the database while the leader runs it.
    // (A replica may have just stopped itself: then this read is skipped.)
    const seen = await api<PlanView>(follower.api, 'GET', `/v1/plans/${plan.id}`).catch(() => undefined);
    if (seen) doneAtFault.push(seen.counters.succeeded + seen.counters.failed);
    const faultAt = performance.now();
    const old = leader;
    old.intended = true;
    if (i === 3) {
      // Paused past the lease's deadline: it wakes up deposed, and exits (75) without acting.
      old.proc.child.kill('SIGSTOP');
      ({ leader, follower } = await leaderAndFollower());
      takeOvers.push(Math.round(performance.now() - faultAt));
      old.proc.child.kill('SIGCONT');
      assert.equal(await old.proc.exited, '75', 'the woken leader stopped itself');
    } else {
      assert.equal(await old.proc.kill('SIGKILL'), 'SIGKILL');
      ({ leader, follower } = await leaderAndFollower());
      takeOvers.push(Math.round(performance.now() - faultAt));
    }
    assert.notEqual(leader.name, old.name);
    // The killed replica comes back, as the follower.
    await replicas.replace(old);
    ({ leader, follower } = await leaderAndFollower());
  }
  assert.ok(
    doneAtFault.some((k) => k < HOSTS),
    `the faults happened while hosts were still migrating (${doneAtFault.join(', ')} done at each)`,
  );
  process.stdout.write(
    `take-overs after a fault (ms): ${takeOvers.join(', ')}; replicas that stopped themselves: ${replicas.selfStops.join(', ') || 'none'}\n`,
  );

  const done = await waitUntil(
    async () => {
      const { leader: now } = await leaderAndFollower();
      try {
        const p = await api<PlanView>(now.api, 'GET', `/v1/plans/${plan.id}`);
        // An injected failure may land in the canary, which then waits for an operator.
        if (p.state === 'waiting-approval') await api(now.api, 'POST', `/v1/plans/${plan.id}/approve`);
        return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
      } catch (err) {
        // The leader stopped itself between the look and the read: look again.
        return { done: false, value: undefined as unknown as PlanView, state: `no answer from ${now.name}: ${(err as Error).message}` };
      }
    },
    { what: 'the plan to complete after the faults' },
  );
  assert.equal(done.counters.succeeded + done.counters.failed, HOSTS);
  await assertRunsExact(stack.db, plan.id, journal);
});
