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
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

/** Short lease timings, so that a take-over happens within the test's seconds. */
const LEASE = { YX_LEASE_TTL_MS: '4000', YX_LEASE_RENEW_MS: '500', YX_LEASE_DEADLINE_MS: '3000' };
const HOSTS = 120;

interface Replica {
  name: string;
  proc: ServiceProcess;
  api: string;
  /** Stopped by the test (which starts it again itself). */
  intended?: boolean;
}

let stack: Stack;
let fleet: ServiceProcess;
let journal: string;
const replicas: Replica[] = [];
let starts = 0;

/** Replicas that stopped themselves (a leader that could not renew in time on a loaded machine exits 75). */
const selfStops: string[] = [];
let restarts: Promise<void> = Promise.resolve();
let stopping = false;

async function startReplica(name: string): Promise<Replica> {
  const { proc, api: url } = await startScheduler(stack, { ...LEASE, YX_SCHEDULER_REPLICA: name }, `${name}-${starts++}`);
  const replica: Replica = { name, proc, api: url };
  // A supervisor's part: a replica that stops itself is started again.
  void proc.exited.then((how) => {
    if (stopping || replica.intended) return;
    selfStops.push(`${name}: ${how}`);
    restarts = restarts.then(() => restartReplica(replica));
  });
  return replica;
}

/** Starts a replica that stopped itself again, until it comes up. */
async function restartReplica(old: Replica): Promise<void> {
  while (!stopping) {
    try {
      replicas.splice(replicas.indexOf(old), 1, await startReplica(old.name));
      return;
    } catch {
      await sleep(1000);
    }
  }
}

async function roleOf(r: Replica): Promise<string> {
  try {
    // A paused replica does not answer: it counts as down, not as a wait.
    const res = await fetch(new URL('/healthz', r.api), { signal: AbortSignal.timeout(500) });
    return ((await res.json()) as { role: string }).role;
  } catch {
    return 'down';
  }
}

/** Waits until exactly one replica says it leads; returns it and the other. */
async function leaderAndFollower(): Promise<{ leader: Replica; follower: Replica }> {
  return waitUntil(
    async () => {
      const roles = await Promise.all(replicas.map(roleOf));
      const leaders = replicas.filter((_r, i) => roles[i] === 'leader');
      const leader = leaders[0];
      const follower = replicas.find((r) => r !== leader);
      return {
        done: leaders.length === 1 && follower !== undefined,
        value: { leader, follower } as { leader: Replica; follower: Replica },
        state: roles.join(','),
      };
    },
    { what: 'one leader among the replicas', intervalMs: 50 },
  );
}

before(async () => {
  stack = await startStack('scheduler-replicas');
  journal = path.join(stack.dir, 'journal.jsonl');
  replicas.push(await startReplica('sched-a'), await startReplica('sched-b'));
  fleet = await startFleet(stack, {
    size: HOSTS,
    clusters: 6,
    pool: 'replicas',
    prefix: 'rep',
    journal,
    sim: chaosSim('scheduler-replicas'),
  });
  await waitForHosts((replicas[0] as Replica).api, HOSTS);
});

after(async () => {
  stopping = true;
  await fleet?.kill();
  for (const r of replicas) await r.proc.kill();
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
    replicas.splice(replicas.indexOf(old), 1, await startReplica(old.name));
    ({ leader, follower } = await leaderAndFollower());
  }
  assert.ok(
    doneAtFault.some((k) => k < HOSTS),
    `the faults happened while hosts were still migrating (${doneAtFault.join(', ')} done at each)`,
  );
  process.stdout.write(
    `take-overs after a fault (ms): ${takeOvers.join(', ')}; replicas that stopped themselves: ${selfStops.join(', ') || 'none'}\n`,
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
