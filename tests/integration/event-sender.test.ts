// Events are bound to their sender: host B, publishing on its own subjects (all the broker
// lets an agent publish on), names host A's run in a step event, a backup event and a
// RunFinished. A's run and A's backup stay exactly as they were. A RunFinished with
// `atMs: 1` on A's own subject cannot expire A's backup either: its time is clamped.
// Real nats-server and FerretDB; A is a protocol peer that backs up through the real
// backup service and then stays in its upgrade. B cannot have A's backup restored onto it.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BackupApp, BackupOfAnotherHostError } from '@yixing/backup';
import { BackupState, Bus, createRegistry, FailureKind, Step, StepPhase, silentLogger } from '@yixing/common';
import { BusBackupStore } from '@yixing/host-agent/internal';
import type { PlanView, RunView } from '@yixing/scheduler/internal';
import { bearer } from '../fixtures/api-access.ts';
import { makeArchive, randomFile, scratchDir } from '../fixtures/archives.ts';
import { startBackupService } from '../fixtures/backup-service.ts';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { registerPeer, reportStep } from '../fixtures/protocol-peer.ts';
import { waitUntil } from '../fixtures/wait.ts';

const A = 'sender-a';
const B = 'sender-b';
const day = 86_400_000;
let s: InProcessStack;
let backups: BackupApp;
let bus: Bus;
let dir: string;
const timers: NodeJS.Timeout[] = [];

/** Host A: acknowledges every command, backs up for real, and never finishes its upgrade. */
async function hostA(): Promise<void> {
  const payload = await randomFile(dir, 64 * 1024);
  const store = new BusBackupStore({ bus, hostId: A, planId: 'p-sender' });
  bus.subscribe('agentCommand', { hostId: A }, async (cmd, d) => {
    d.respond({ commandId: cmd.commandId, accepted: true, duplicate: false, reason: '' });
    if (cmd.action.case !== 'runStep') return;
    const step = cmd.action.value.step;
    const base = { hostId: A, runId: cmd.runId, commandId: cmd.commandId, step, attempt: cmd.action.value.attempt };
    await reportStep(bus, base, 'started');
    if (step === Step.UPGRADE) return; // mid-upgrade from here on
    let report = '';
    if (step === Step.BACKUP) {
      const file = await makeArchive(dir, `a-${cmd.runId}`, payload);
      const rec = await store.put({ hostId: A, runId: cmd.runId, profile: 'debian-11-to-12', paths: ['/etc'], manifestSha256: '' }, file);
      report = JSON.stringify({ backup: { id: rec.id } });
    }
    await reportStep(bus, base, 'succeeded', report);
  });
  timers.push(await registerPeer(bus, A, 'sender'));
}

before(async () => {
  s = await startInProcess('event_sender');
  dir = await scratchDir('yx-sender-');
  bus = new Bus({ nc: s.nc, log: silentLogger(), registry: createRegistry('peers', { processMetrics: false }) });
  backups = await startBackupService({ conn: s.conn, nc: s.nc, bucket: 'sender' });
  await hostA();
});

after(async () => {
  for (const t of timers) clearInterval(t);
  await backups?.stop();
  await s?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const runOf = async (planId: string): Promise<RunView> =>
  ((await s.inject({ method: 'GET', url: `/v1/plans/${planId}/hosts` })).json() as { hosts: RunView[] }).hosts[0] as RunView;

test("host B's events naming host A's run change neither A's run nor A's backup", async () => {
  const res = await s.inject({
    method: 'POST',
    url: '/v1/plans',
    payload: {
      name: 'sender',
      selector: { hosts: [A] },
      profile: 'debian-11-to-12',
      canary: { count: 1 },
      errorBudget: { plan: { count: 1 } },
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  const planId = (res.json() as PlanView).id;
  const upgrading = await waitUntil(
    async () => {
      const r = await runOf(planId);
      return { done: r.step === 'upgrade' && r.stepState === 'running', value: r, state: `${r.step}:${r.stepState}` };
    },
    { what: "A's run to be in its upgrade" },
  );
  const doc = (await s.scheduler.runs.loadPlan(planId))[0];
  assert.ok(doc?.backupId, 'the run names its verified backup');
  const backupBefore = await backups.service.get(doc.backupId);
  assert.equal(backupBefore.state, 'verified');
  assert.equal(backupBefore.hostId, A);

  const counted = async (metric: string): Promise<number> =>
    [...(await s.inject({ method: 'GET', url: '/metrics' })).body.matchAll(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  const appliedBefore = await counted('yx_scheduler_events_applied_total');

  // B, on its own subjects, speaks for A's run: a failure (a rollback), a success (a host
  // marked migrated), a backup verdict, and the run's end at the epoch.
  const forged = { hostId: B, runId: doc.runId, commandId: doc.commandId, step: Step.UPGRADE, attempt: doc.attempt };
  await bus.publishDurable(
    'stepEvent',
    {
      ...forged,
      eventId: 'forged.failed',
      phase: StepPhase.FAILED,
      kindToken: 'failed',
      error: { kind: FailureKind.EXECUTION, code: 'FORGED', message: 'forged by B', retryable: false },
    },
    'forged.failed',
  );
  await bus.publishDurable(
    'stepEvent',
    { ...forged, eventId: 'forged.succeeded', phase: StepPhase.SUCCEEDED, kindToken: 'succeeded', percent: 100 },
    'forged.succeeded',
  );
  await bus.publishDurable(
    'backupEvent',
    { eventId: 'forged.backup', hostId: B, runId: doc.runId, backupId: doc.backupId, state: BackupState.FAILED, reason: 'forged', atMs: 1 },
    'forged.backup',
  );
  await bus.publishDurable(
    'runFinished',
    { eventId: 'forged.final', hostId: B, runId: doc.runId, planId, state: 'failed', atMs: 1 },
    'forged.final',
  );

  // The three reach the scheduler's consumer and are acknowledged (the progress stream aside).
  await waitUntil(
    async () => {
      const applied = (await counted('yx_scheduler_events_applied_total')) - appliedBefore;
      return { done: applied >= 3, value: undefined, state: `${applied} consumed` };
    },
    { what: 'the scheduler to consume the three forged events' },
  );
  await sleep(500); // ten reconcile passes
  const still = await runOf(planId);
  assert.deepEqual(
    { state: still.state, step: still.step, stepState: still.stepState, rollback: still.rollback, failure: still.failure ?? null },
    { state: 'active', step: 'upgrade', stepState: 'running', rollback: upgrading.rollback, failure: upgrading.failure ?? null },
    "A's run is as it was",
  );
  assert.equal(await counted('yx_scheduler_events_refused_total'), 3, 'each forged event is counted');
  await waitUntil(
    async () => {
      const text = (await backups.api.inject({ method: 'GET', url: '/metrics', headers: bearer() })).body;
      const m = /^yx_backup_events_refused_total\{[^}]*route="runFinished"[^}]*\} (\d+)$/m.exec(text);
      return { done: m?.[1] === '1', value: undefined, state: m?.[0] ?? 'none' };
    },
    { what: 'the backup service to refuse the forged RunFinished' },
  );
  const backupAfter = await backups.service.get(doc.backupId);
  assert.deepEqual(backupAfter, backupBefore, "A's backup is untouched");
  assert.equal((await backups.service.sweep()).expired, 0);
});

test('a RunFinished at the epoch on the host subject starts retention no earlier than the backup', async () => {
  const doc = (await backups.service.get(await latestBackupOf(A))) as Awaited<ReturnType<BackupApp['service']['get']>>;
  await bus.publishDurable(
    'runFinished',
    { eventId: 'epoch.final', hostId: A, runId: doc.runId, planId: 'p-sender', state: 'failed', atMs: 1 },
    'epoch.final',
  );
  const ended = await waitUntil(
    async () => {
      const d = await backups.service.get(doc._id);
      return { done: d.runFinalAt !== null, value: d, state: String(d.runFinalAt) };
    },
    { what: 'the RunFinished to be applied' },
  );
  assert.ok(new Date(ended.runFinalAt as Date).getTime() >= new Date(doc.createdAt).getTime(), 'not before the backup was made');
  assert.ok(new Date(ended.expiresAt as Date).getTime() >= new Date(doc.createdAt).getTime() + 30 * day - 1);
  assert.equal((await backups.service.sweep()).expired, 0);
  assert.equal((await backups.service.get(doc._id)).state, 'verified');
});

async function latestBackupOf(hostId: string): Promise<string> {
  const d = await s.conn
    .collection<{ _id: string; hostId: string; createdAt: Date }>('backups')
    .find({ hostId })
    .sort({ createdAt: -1 })
    .limit(1)
    .next();
  assert.ok(d, `a backup of ${hostId}`);
  return d._id;
}

test('a backup uploaded by host A cannot be restored onto host B, nor vouched for to B', async () => {
  const id = await latestBackupOf(A);
  const before = await backups.service.get(id);
  const storeB = new BusBackupStore({ bus, hostId: B, patienceMs: 0 });
  // B's restore and status requests travel on B's own subjects, as the broker allows B.
  await assert.rejects(storeB.get(id), new RegExp(`restore of ${id} refused: backup ${id} is not host ${B}'s`));
  await assert.rejects(storeB.verify(id), new RegExp(`backup ${id} is failed at the backup service: backup ${id} is not host ${B}'s`));
  await assert.rejects(
    backups.service.restore(B, id),
    (e: unknown) => e instanceof BackupOfAnotherHostError && e.code === 'BACKUP_OF_ANOTHER_HOST' && !e.retryable,
  );
  assert.deepEqual(await backups.service.get(id), before, 'the backup is unchanged');
  // A's own restore is granted, byte for byte what was verified.
  const fetched = await new BusBackupStore({ bus, hostId: A, patienceMs: 0 }).get(id);
  try {
    assert.equal(fetched.record.sha256, before.sha256);
  } finally {
    await fetched.release();
  }
});
