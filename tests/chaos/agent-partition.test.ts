// Agents cut off by a network partition in the middle of a step. Two network namespaces of
// the test's making (netns.ts) hold two simulated hosts each, behind a veth link; 60 more
// run on this machine. While a namespaced host is in the middle of a long upgrade its
// link is cut and kept down past the scheduler's heartbeat grace. In one namespace the
// connections through the link survive the cut (TCP waits); in the other they are lost
// with it (the relay forgets them), and the agents reconnect. What must happen, both ways:
// - the scheduler fails the upgrade as unreachable (HEARTBEAT_LOST) and follows the
//   plan's rules (no retries; a failed upgrade is rolled back): it sends the rollback,
//   which nothing acknowledges while the link is down;
// - the cut-off agent finishes its upgrade meanwhile and keeps the outcome; once the link
//   is back it publishes it (the scheduler has moved on: its verdict stands), then
//   acknowledges the rollback and runs it: the host ends failed, rolled back;
// - no step ran twice on any host, and every other recorded step is exactly what its
//   agent executed (assertRunsExact, unreachable verdicts standing for what the cut-off
//   agents finished unheard).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { JournalEntry } from '@yixing/host-agent';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import { createNetns, type Netns } from '../fixtures/netns.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { assertRunsExact, chaosPlan, chaosSim } from '../fixtures/run-checks.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let fleetJournal: string;
const cutOff: { netns: Netns; proc?: ServiceProcess; prefix: string; journal: string; dropConnections: boolean }[] = [];

const HOSTS = 60;
const CUT_OFF_HOSTS = 2;

before(async () => {
  stack = await startStack('agent-partition');
  fleetJournal = path.join(stack.dir, 'fleet.journal.jsonl');
  // A short grace: the partition outlasts it; no command waits out the unreachable limit.
  scheduler = await startScheduler(stack, { YX_HEARTBEAT_GRACE_MS: '3000', YX_UNREACHABLE_AFTER_MS: '60000' });
  fleet = await startFleet(stack, {
    size: HOSTS,
    clusters: 4,
    pool: 'partition',
    prefix: 'prt',
    journal: fleetJournal,
    sim: chaosSim('agent-partition'),
  });
  for (const [prefix, dropConnections] of [
    ['pnk', false],
    ['pnd', true],
  ] as const) {
    const part: (typeof cutOff)[number] = {
      netns: await createNetns(prefix),
      prefix,
      journal: path.join(stack.dir, `${prefix}.journal.jsonl`),
      dropConnections,
    };
    cutOff.push(part);
    part.proc = await startFleet(stack, {
      size: CUT_OFF_HOSTS,
      clusters: 1,
      pool: 'partition',
      prefix,
      journal: part.journal,
      // Long upgrades, so that the link goes down in the middle of one; nothing fails by itself.
      sim: {
        seed: `agent-partition-${prefix}`,
        durations: { 'cluster-check': 20, precheck: 100, backup: 100, upgrade: 8000, reboot: 100, postcheck: 100, rollback: 500 },
        tickMs: 100,
      },
      under: part.netns.command,
      env: { YX_NATS_URL: await part.netns.relay(stack.nats.url) },
    });
  }
  await waitForHosts(scheduler.api, HOSTS + cutOff.length * CUT_OFF_HOSTS);
});

after(async () => {
  for (const part of cutOff) {
    await part.proc?.kill();
    await part.netns.destroy();
  }
  await fleet?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
});

const journalOf = async (file: string): Promise<JournalEntry[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEntry);

const runOf = async (planId: string, hostId: string): Promise<RunView> => {
  const { runs } = await api<{ runs: RunView[] }>(scheduler.api, 'GET', `/v1/hosts/${hostId}`);
  return runs.find((r) => r.planId === planId) as RunView;
};

/** Cuts the namespace's link while one of its hosts upgrades, until the scheduler gave up on it and its agent finished unheard. */
async function partition(
  planId: string,
  part: (typeof cutOff)[number],
): Promise<{ victim: RunView; upgradeCommand: string; unheard: JournalEntry; relayedAtHeal: number }> {
  const victim = await waitUntil(
    async () => {
      const { hosts } = await api<{ hosts: RunView[] }>(scheduler.api, 'GET', `/v1/plans/${planId}/hosts?limit=1000`);
      const inside = hosts.filter((r) => r.hostId.startsWith(part.prefix));
      const h = inside.find((r) => r.step === 'upgrade' && r.stepState === 'running');
      return { done: h !== undefined, value: h as RunView, state: inside.map((r) => `${r.state}:${r.step}:${r.stepState}`).join(' ') };
    },
    { what: `a host of ${part.prefix} in its upgrade` },
  );
  await part.netns.cut({ dropConnections: part.dropConnections });

  // The scheduler gives up on the upgrade and sends the rollback, unacknowledged.
  const verdict = await waitUntil(
    async () => {
      const run = await runOf(planId, victim.hostId);
      const upgrade = run.history.find((h) => h.step === 'upgrade');
      return {
        done: upgrade !== undefined && run.step === 'rollback',
        value: { run, upgrade },
        state: `${run.state}:${run.step}:${run.stepState}`,
      };
    },
    { what: `the scheduler to fail ${victim.hostId}'s upgrade` },
  );
  assert.equal(verdict.upgrade?.outcome, 'failed');
  assert.equal(verdict.upgrade?.kind, 'unreachable');
  assert.equal(verdict.upgrade?.code, 'HEARTBEAT_LOST');
  assert.equal(verdict.run.stepState, 'dispatching', 'no agent acknowledged the rollback behind the cut link');
  // The cut-off agent finishes its upgrade unheard.
  const unheard = await waitUntil(
    async () => {
      const done = (await journalOf(part.journal)).find((e) => e.hostId === victim.hostId && e.step === 'upgrade' && e.event === 'finish');
      return { done: done !== undefined, value: done as JournalEntry, state: 'upgrade running' };
    },
    { what: `${victim.hostId}'s agent to finish its upgrade behind the cut link` },
  );
  const stillCut = await runOf(planId, victim.hostId);
  assert.equal(`${stillCut.step}:${stillCut.stepState}`, 'rollback:dispatching', 'nothing reached the scheduler while the link was down');
  const relayedAtHeal = part.netns.relayed();
  await part.netns.heal();
  return { victim, upgradeCommand: verdict.upgrade?.commandId as string, unheard, relayedAtHeal };
}

test('agents cut off mid-upgrade: failed as unreachable, rolled back once the link is back, nothing twice or lost', async () => {
  const plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', chaosPlan('partition', 'partition'));
  const cuts = await Promise.all(cutOff.map((part) => partition(plan.id, part)));

  const done = await waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
      // A failure (injected, or the partition's) in the canary waits for an operator.
      if (p.state === 'waiting-approval') await api(scheduler.api, 'POST', `/v1/plans/${plan.id}/approve`);
      return { done: p.state === 'completed', value: p, state: `${p.state} ${p.percentDone}` };
    },
    { what: 'the plan to complete after the partitions' },
  );
  assert.equal(done.counters.succeeded + done.counters.failed, HOSTS + cutOff.length * CUT_OFF_HOSTS);

  for (const [i, part] of cutOff.entries()) {
    const { victim, upgradeCommand, unheard, relayedAtHeal } = cuts[i] as Awaited<ReturnType<typeof partition>>;
    const run = await runOf(plan.id, victim.hostId);
    assert.equal(run.state, 'failed');
    assert.equal(run.rollback, 'succeeded');
    assert.deepEqual(
      run.history.map((h) => `${h.step}:${h.attempt}:${h.outcome}:${h.kind ?? ''}`),
      [
        'cluster-check:1:succeeded:',
        'precheck:1:succeeded:',
        'backup:1:succeeded:',
        'upgrade:1:failed:unreachable',
        'rollback:1:succeeded:',
      ],
    );
    const mine = (await journalOf(part.journal)).filter((e) => e.hostId === victim.hostId);
    const ranOrFinished = mine.filter((e) => (e.step === 'upgrade' || e.step === 'rollback') && e.event !== 'duplicate');
    assert.deepEqual(
      ranOrFinished.map((e) => `${e.step}:${e.event}:${e.ok ?? ''}`),
      ['upgrade:run:', `upgrade:finish:${unheard.ok}`, 'rollback:run:', 'rollback:finish:true'],
    );
    // Sends of the rollback held up behind the cut link may arrive together: run once, the rest refused as duplicates.
    const duplicates = mine.filter((e) => e.event === 'duplicate');
    assert.ok(
      duplicates.every((e) => e.step === 'rollback' && e.commandId === run.history.at(-1)?.commandId),
      'only the rollback was sent again',
    );
    // The agent, back, reported the outcome it kept: the bus took it.
    const state = JSON.parse(await readFile(path.join(stack.dir, 'agents', part.prefix, `${victim.hostId}.json`), 'utf8')) as {
      recent: { commandId: string; published: boolean }[];
    };
    assert.equal(state.recent.find((f) => f.commandId === upgradeCommand)?.published, true, 'the kept upgrade outcome was published');
    // Lost connections were made again through the relay; kept ones carried on.
    if (part.dropConnections) assert.ok(part.netns.relayed() > relayedAtHeal, `${part.prefix}: the agents reconnected`);
    else assert.equal(part.netns.relayed(), relayedAtHeal, `${part.prefix}: the agents' connections survived the cut`);
  }

  const combined = path.join(stack.dir, 'journal.jsonl');
  const all = await Promise.all([fleetJournal, ...cutOff.map((p) => p.journal)].map((f) => readFile(f, 'utf8')));
  await writeFile(combined, all.join(''));
  await assertRunsExact(stack.db, plan.id, combined, { unreachableVerdicts: true });
});
