// Applying outcomes to a run: the next step with a fresh deadline, retries, defer, the
// end of a run (slot released, failure recorded first), hold, the backup gate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackupState, maxLen } from '@yixing/common';
import type { HostRunDoc } from '../db/models.ts';
import { activeRun, testRun } from '../reconcile/engine.fixtures.ts';
import { afterBackupEvent, afterOutcome, backupIdOf, type OutcomeContext, type StepResult, storedReport } from './outcomes.ts';
import { isInStep, type RunInStep } from './run-changes.ts';

const NOW = Date.parse('2030-01-01T00:00:00Z');

function context(over: Partial<OutcomeContext> = {}): OutcomeContext {
  let seq = 10;
  return {
    now: NOW,
    nextSeq: () => ++seq,
    timeoutSeconds: { precheck: 120, upgrade: 1800 },
    deadlineGraceMs: 30_000,
    policy: { retries: { upgrade: 1, 'cluster-check': 0 }, onFailure: 'rollback' },
    clusterCheckDeferMs: 30_000,
    ...over,
  };
}

const ok: StepResult = { ok: true, kind: null, code: '', message: 'done', retryable: false, report: '', startedAt: null };
const failed = (over: Partial<StepResult> = {}): StepResult => ({
  ...ok,
  ok: false,
  kind: 'execution',
  code: 'E',
  message: 'broke',
  ...over,
});

function running(step: RunInStep['step'], over: Partial<HostRunDoc> = {}): RunInStep {
  const run = activeRun(testRun('p', 'h1', 0), { step, ...over }, NOW - 1_000);
  assert.ok(isInStep(run));
  return run;
}

test('success dispatches the next step with its own deadline, the finished step in history', () => {
  const { next, after } = afterOutcome(running('cluster-check'), ok, context());
  assert.equal(next.kind, 'dispatch');
  assert.deepEqual([after.state, after.step, after.attempt, after.stepState], ['active', 'precheck', 1, 'dispatching']);
  assert.equal(after.deadlineAt?.getTime(), NOW + 120_000 + 30_000);
  assert.equal(after.history.length, 1);
  assert.deepEqual([after.history[0]?.step, after.history[0]?.outcome], ['cluster-check', 'succeeded']);
});

test('a timeout is retried up to the step’s retries: the next attempt, a new command id and deadline', () => {
  const run = running('upgrade');
  const { after } = afterOutcome(run, failed({ kind: 'timeout' }), context());
  assert.deepEqual([after.step, after.attempt, after.failure], ['upgrade', 2, null]);
  assert.equal(after.commandId, `${run.runId}.0.upgrade.2`);
  assert.equal(after.deadlineAt?.getTime(), NOW + 1_800_000 + 30_000);
  assert.equal(after.history.at(-1)?.outcome, 'failed');
});

test('retries used up after the host changed: rollback, the failure recorded once', () => {
  const run = running('upgrade', { attempt: 2 });
  const { after } = afterOutcome(run, failed({ kind: 'timeout', code: 'STEP_DEADLINE' }), context());
  assert.deepEqual([after.state, after.step, after.rollback], ['active', 'rollback', 'running']);
  assert.deepEqual(after.failure, {
    step: 'upgrade',
    kind: 'timeout',
    code: 'STEP_DEADLINE',
    message: 'broke',
    seq: 11,
    at: new Date(NOW),
  });
  const rolledBack = afterOutcome({ ...after, step: 'rollback' }, ok, context()).after;
  assert.deepEqual([rolledBack.state, rolledBack.rollback], ['failed', 'succeeded']);
  assert.equal(rolledBack.failure?.step, 'upgrade', 'the failure names the step that failed, not the rollback');
});

test('a failure before the host changed ends the run: failed, slot released after the failure is numbered', () => {
  const { after } = afterOutcome(running('precheck'), failed(), context());
  assert.deepEqual([after.state, after.step, after.stepState, after.rollback], ['failed', null, null, 'none']);
  assert.equal(after.failure?.seq, 11);
  assert.equal(after.slots.at(-1)?.releasedSeq, 12);
});

test('success of the last step: succeeded, slot released', () => {
  const { after } = afterOutcome(running('postcheck'), ok, context());
  assert.deepEqual([after.state, after.step, after.failure], ['succeeded', null, null]);
  assert.equal(after.slots.at(-1)?.releasedSeq, 11);
});

test('a cluster not ready defers the host: pending, slot given back, tried again later, not a failure', () => {
  const run = running('cluster-check');
  const { after } = afterOutcome(run, failed({ code: 'CLUSTER_NOT_READY' }), context());
  assert.deepEqual([after.state, after.failure, after.deferrals], ['pending', null, 1]);
  assert.equal(after.notBefore?.getTime(), NOW + 30_000);
  assert.equal(after.history.at(-1)?.outcome, 'deferred');
  assert.equal(after.slots.at(-1)?.releasedSeq, 11);
});

test('onFailure: hold keeps the host (and its slot) for an operator', () => {
  const { after } = afterOutcome(running('reboot'), failed(), context({ policy: { retries: {}, onFailure: 'hold' } }));
  assert.deepEqual([after.state, after.step, after.stepState], ['held', null, null]);
  assert.equal(after.failure?.step, 'reboot');
  assert.equal(after.slots.at(-1)?.releasedSeq, null);
});

test('messages and reports are clipped', () => {
  const { after } = afterOutcome(running('precheck'), failed({ message: 'm'.repeat(5_000), report: 'r'.repeat(70_000) }), context());
  assert.equal(after.history.at(-1)?.message.length, maxLen('errorInfo', 'message'));
  assert.equal(after.history.at(-1)?.report.length, 64_000);
  assert.equal(after.failure?.message.length, maxLen('errorInfo', 'message'));
});

test('backup gate: the upgrade after a backup waits for the backup service to verify it', () => {
  const b1 = 'b-20261206-0123456789ab';
  const report = JSON.stringify({ backup: { id: b1 } });
  const { after } = afterOutcome(running('backup'), { ...ok, report }, context());
  assert.deepEqual([after.step, after.stepState, after.backupId, after.backupVerified], ['upgrade', 'awaiting-backup', b1, false]);
  const verified = running('backup', { backupId: b1, backupVerified: true });
  assert.equal(afterOutcome(verified, { ...ok, report }, context()).after.stepState, 'dispatching', 'already verified: no wait');
});

test('a verified backup releases the waiting upgrade; duplicates and other backups change nothing', () => {
  const waiting = running('upgrade', { stepState: 'awaiting-backup', backupId: 'b1' });
  const verdict = afterBackupEvent(waiting, { backupId: 'b1', state: BackupState.VERIFIED, reason: '' }, NOW);
  assert.equal(verdict.kind, 'verified');
  assert.ok(verdict.kind === 'verified' && verdict.dispatch && verdict.after.stepState === 'dispatching' && verdict.after.backupVerified);
  const other = afterBackupEvent(waiting, { backupId: 'b0', state: BackupState.VERIFIED, reason: '' }, NOW);
  assert.equal(other.kind, 'ignore', 'a late event about an earlier backup');
  const again = afterBackupEvent({ ...waiting, backupVerified: true }, { backupId: 'b1', state: BackupState.VERIFIED, reason: '' }, NOW);
  assert.equal(again.kind, 'ignore');
});

test('a failed backup fails the waiting run as its backup step: nothing to roll back', () => {
  const waiting = running('upgrade', { stepState: 'awaiting-backup', backupId: 'b1' });
  const verdict = afterBackupEvent(waiting, { backupId: 'b1', state: BackupState.FAILED, reason: 'checksum' }, NOW);
  assert.equal(verdict.kind, 'failed');
  if (verdict.kind !== 'failed') return;
  const { after } = afterOutcome(verdict.run, verdict.result, context());
  assert.deepEqual([after.state, after.rollback, after.failure?.code], ['failed', 'none', 'BACKUP_NOT_VERIFIED']);
  assert.equal(
    afterBackupEvent({ ...waiting, state: 'failed' }, { backupId: 'b1', state: BackupState.FAILED, reason: '' }, NOW).kind,
    'ignore',
  );
});

test('a backup step naming no valid backup id failed: no upgrade waits on a backup nobody can verify', () => {
  for (const id of ['b1', '../../etc', 'b-20261206-0123456789ab\n']) {
    const { next, after } = afterOutcome(running('backup'), { ...ok, report: JSON.stringify({ backup: { id } }) }, context());
    assert.equal(after.step === 'upgrade', false, id);
    assert.equal(after.history.at(-1)?.outcome, 'failed');
    assert.equal(after.history.at(-1)?.code, 'BACKUP_ID_INVALID');
    assert.equal(after.failure?.code, 'BACKUP_ID_INVALID');
    assert.equal(after.backupId, '');
    assert.notEqual(next.kind, 'dispatch');
  }
});

test('the backup id is read from the step report; anything else is no id', () => {
  assert.equal(backupIdOf('{"backup":{"id":"b9"}}'), 'b9');
  assert.equal(backupIdOf('{"backup":{"id":9}}'), '');
  assert.equal(backupIdOf('not json'), '');
});

test('a long precheck report drops its package list before it is cut, keeping what follows it', () => {
  const changes = Array.from({ length: 2000 }, (_, i) => ({ name: `package-${i}`, from: '1.0-1', to: '2.0-1', fate: 'upgraded' }));
  const report = JSON.stringify({
    findings: [{ id: 'held-packages', inhibitor: true }],
    preview: { downloadBytes: 5, upgrades: 2000, changes, removals: ['a'] },
    roles: ['containers'],
    factsDigest: 'd1',
  });
  assert.ok(report.length > 64_000);
  const stored = JSON.parse(storedReport('precheck', report)) as Record<string, unknown> & { preview: Record<string, unknown> };
  assert.deepEqual(stored.roles, ['containers']);
  assert.equal(stored.factsDigest, 'd1');
  assert.deepEqual(stored.preview, { downloadBytes: 5, upgrades: 2000, changesDropped: 2000, removalsDropped: 1 });
  assert.equal(storedReport('backup', report).length, 64_000, 'other reports are cut');
  assert.equal(storedReport('precheck', '{"short":1}'), '{"short":1}');
});
