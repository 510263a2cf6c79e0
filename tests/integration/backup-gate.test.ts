// The scheduler lets a host upgrade only once the backup service has verified the backup
// its backup step reported. The agents here are minimal protocol peers on the real bus
// (they ack commands and report steps at once), so only the scheduler's rule is at play.
// When the backup service's event is lost, the scheduler asks it where the backup stands.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackupState, Bus, createRegistry, Step, silentLogger, stepName } from '@yixing/common';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { registerPeer, reportStep } from '../fixtures/protocol-peer.ts';
import { waitUntil } from '../fixtures/wait.ts';

let s: InProcessStack;
let bus: Bus;
const commands = new Map<string, { step: string; backupId: string }[]>();
const timers: NodeJS.Timeout[] = [];
let statusAsked = 0;

const backupIdOf = (host: string): string => `b-20261125-${Buffer.from(host).toString('hex').slice(0, 12).padEnd(12, '0')}`;

/** A host that does every step at once and reports a backup id from its backup step. */
async function peer(hostId: string): Promise<void> {
  commands.set(hostId, []);
  bus.subscribe('agentCommand', { hostId }, (cmd, d) => {
    d.respond({ commandId: cmd.commandId, accepted: true, duplicate: false, reason: '' });
    if (cmd.action.case !== 'runStep') return;
    const step = cmd.action.value.step;
    commands.get(hostId)?.push({ step: stepName(step), backupId: cmd.action.value.backupId });
    const report = step === Step.BACKUP ? JSON.stringify({ backup: { id: backupIdOf(hostId) } }) : '';
    const base = { hostId, runId: cmd.runId, commandId: cmd.commandId, step, attempt: cmd.action.value.attempt };
    void reportStep(bus, base, 'started');
    void reportStep(bus, base, 'succeeded', report);
  });
  timers.push(await registerPeer(bus, hostId, 'gate'));
}

before(async () => {
  s = await startInProcess('backup_gate', { backupStatusPollMs: 300 });
  bus = new Bus({ nc: s.nc, log: silentLogger(), registry: createRegistry('peers', { processMetrics: false }) });
  await peer('gate-1');
  await peer('gate-2');
  await peer('gate-3');
  await peer('gate-4');
  // The backup service's answer for gate-3's backup, which never gets an event.
  bus.subscribe('backupStatusRequest', { hostId: 'gate-3' }, (m, d) => {
    statusAsked++;
    d.respond({ backupId: m.backupId, state: m.backupId === backupIdOf('gate-3') ? BackupState.VERIFIED : BackupState.FAILED });
  });
});

after(async () => {
  for (const t of timers) clearInterval(t);
  await s?.stop();
});

async function planFor(hostId: string): Promise<string> {
  const res = await s.inject({
    method: 'POST',
    url: '/v1/plans',
    payload: {
      name: hostId,
      selector: { hosts: [hostId] },
      profile: 'debian-11-to-12',
      canary: { count: 1 },
      errorBudget: { plan: { count: 1 } },
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as PlanView).id;
}

const run = async (planId: string): Promise<RunView> =>
  ((await s.inject({ method: 'GET', url: `/v1/plans/${planId}/hosts` })).json() as { hosts: RunView[] }).hosts[0] as RunView;

const completed = (planId: string): Promise<PlanView> =>
  waitUntil(
    async () => {
      const p = (await s.inject({ method: 'GET', url: `/v1/plans/${planId}` })).json() as PlanView;
      return { done: p.state === 'completed', value: p, state: p.state };
    },
    { what: 'the plan to complete' },
  );

test('the upgrade waits for the backup to be verified, then carries its id', async () => {
  const planId = await planFor('gate-1');
  await waitUntil(
    async () => {
      const r = await run(planId);
      return { done: r.stepState === 'awaiting-backup', value: r, state: `${r.step}:${r.stepState}` };
    },
    { what: 'the run to wait for its backup' },
  );
  await sleep(1000); // twenty reconcile passes: still nothing may be sent
  assert.deepEqual(
    commands.get('gate-1')?.map((c) => c.step),
    ['cluster-check', 'precheck', 'backup'],
  );

  await bus.publishDurable(
    'backupEvent',
    {
      eventId: 'gate-1.verified',
      hostId: 'gate-1',
      runId: (await run(planId)).runId,
      backupId: backupIdOf('gate-1'),
      state: BackupState.VERIFIED,
      atMs: Date.now(),
    },
    'gate-1.verified',
  );
  const done = await completed(planId);
  assert.equal(done.counters.succeeded, 1);
  const upgrade = commands.get('gate-1')?.find((c) => c.step === 'upgrade');
  assert.equal(upgrade?.backupId, backupIdOf('gate-1'), 'the upgrade command names the verified backup');
});

test('a backup the service refuses fails the run; the upgrade is never sent', async () => {
  const planId = await planFor('gate-2');
  const waiting = await waitUntil(
    async () => {
      const r = await run(planId);
      return { done: r.stepState === 'awaiting-backup', value: r, state: `${r.step}:${r.stepState}` };
    },
    { what: 'the run to wait for its backup' },
  );
  await bus.publishDurable(
    'backupEvent',
    {
      eventId: 'gate-2.failed',
      hostId: 'gate-2',
      runId: waiting.runId,
      backupId: backupIdOf('gate-2'),
      state: BackupState.FAILED,
      reason: 'checksum: mismatch',
      atMs: Date.now(),
    },
    'gate-2.failed',
  );
  const failed = await waitUntil(
    async () => {
      const r = await run(planId);
      return { done: r.state === 'failed', value: r, state: r.state };
    },
    { what: 'the run to fail' },
  );
  assert.equal(failed.failure?.code, 'BACKUP_NOT_VERIFIED');
  assert.equal(failed.rollback, 'none', 'nothing was changed, nothing to roll back');
  assert.ok(!commands.get('gate-2')?.some((c) => c.step === 'upgrade'));
});

test('a lost backup event: the scheduler asks the backup service and goes on', async () => {
  const planId = await planFor('gate-3');
  const done = await completed(planId);
  assert.equal(done.counters.succeeded, 1);
  assert.ok(statusAsked >= 1, 'the backup service was asked');
  const steps = commands.get('gate-3')?.map((c) => c.step) ?? [];
  assert.ok(steps.indexOf('upgrade') > steps.indexOf('backup'));
  assert.equal(commands.get('gate-3')?.find((c) => c.step === 'upgrade')?.backupId, backupIdOf('gate-3'));
});

test('a late event about another backup neither releases nor blocks the upgrade', async () => {
  const planId = await planFor('gate-4');
  const waiting = await waitUntil(
    async () => {
      const r = await run(planId);
      return { done: r.stepState === 'awaiting-backup', value: r, state: `${r.step}:${r.stepState}` };
    },
    { what: 'the run to wait for its backup' },
  );
  const verified = (backupId: string, eventId: string) =>
    bus.publishDurable(
      'backupEvent',
      { eventId, hostId: 'gate-4', runId: waiting.runId, backupId, state: BackupState.VERIFIED, atMs: Date.now() },
      eventId,
    );
  await verified('b-20261125-0000000000aa', 'gate-4.other.verified'); // an abandoned attempt's backup
  await sleep(1000);
  const still = await run(planId);
  assert.equal(still.stepState, 'awaiting-backup');
  assert.ok(!commands.get('gate-4')?.some((c) => c.step === 'upgrade'));
  await verified(backupIdOf('gate-4'), 'gate-4.verified');
  await completed(planId);
  assert.equal(commands.get('gate-4')?.find((c) => c.step === 'upgrade')?.backupId, backupIdOf('gate-4'));
});
