// Applying an outcome to a run, as pure functions: a step's result (from its agent, or
// the scheduler's own verdict on a deadline or a lost host) and the backup service's
// verdict on a backup each give the run's next version. transitions.ts decides what comes
// next; here it becomes the document the engine stores with one conditional write.
import { type BackupEvent, BackupState, clip, idPatterns } from '@yixing/common';
import type { FailureKindName, HostRunDoc, StepRecord } from '../db/models.ts';
import { type ChangeContext, IDLE_STEP, type RunInStep, releaseSlot, startStep } from './run-changes.ts';
import { type Next, nextAfter, type Policy, runShape } from './transitions.ts';

export interface StepResult {
  ok: boolean;
  kind: FailureKindName | null;
  code: string;
  message: string;
  retryable: boolean;
  report: string;
  startedAt: number | null;
}

export interface OutcomeContext extends ChangeContext {
  policy: Policy;
  /** How long a host waits after its cluster was not ready. */
  clusterCheckDeferMs: number;
}

// A stored report is the database's choice (it is not sent on the bus); the message is the
// agent's ErrorInfo.message, kept to its proto limit.
const REPORT_LIMIT = 64_000;

const BACKUP_ID = new RegExp(idPatterns.backupId);

/**
 * The report as stored. A precheck's lists every package's fate (about 90 characters each),
 * so a host of a few hundred packages exceeds the limit and a cut would lose what comes
 * after the list (roles, the facts digest): that list is dropped (its totals stay) before
 * anything is cut. Pure.
 */
export function storedReport(step: string, report: string): string {
  if (report.length <= REPORT_LIMIT || step !== 'precheck') return report.slice(0, REPORT_LIMIT);
  try {
    const parsed = JSON.parse(report) as { preview?: { changes?: unknown[]; removals?: unknown[] } | null };
    if (parsed.preview) {
      const { changes, removals, ...totals } = parsed.preview;
      parsed.preview = { ...totals, changesDropped: changes?.length ?? 0, removalsDropped: removals?.length ?? 0 } as never;
    }
    return JSON.stringify(parsed).slice(0, REPORT_LIMIT);
  } catch {
    return report.slice(0, REPORT_LIMIT);
  }
}

/** The next version of a run after its step's result, and the transition that led there. */
export function afterOutcome(run: RunInStep, reported: StepResult, ctx: OutcomeContext): { next: Next; after: HostRunDoc } {
  const { now } = ctx;
  // A backup named by no valid id could never be verified (the catalog refuses to be asked
  // about it) and would hold the upgrade until its deadline: the backup step failed.
  const claimed = run.step === 'backup' && reported.ok ? backupIdOf(reported.report) : '';
  const result: StepResult =
    claimed !== '' && !BACKUP_ID.test(claimed)
      ? {
          ...reported,
          ok: false,
          kind: 'execution',
          code: 'BACKUP_ID_INVALID',
          message: `the backup step named ${JSON.stringify(claimed.slice(0, 64))}, not a backup id`,
          retryable: false,
        }
      : reported;
  const step = run.step;
  const next = nextAfter(
    { step, attempt: run.attempt, ok: result.ok, retryable: result.retryable, kind: result.kind },
    ctx.policy,
    runShape(run, step),
  );
  const record: StepRecord = {
    step,
    attempt: run.attempt,
    commandId: run.commandId,
    dispatchedAt: run.dispatchedAt ?? new Date(now),
    startedAt: result.startedAt === null ? run.stepStartedAt : new Date(result.startedAt),
    finishedAt: new Date(now),
    outcome: result.ok ? 'succeeded' : next.kind === 'defer' ? 'deferred' : 'failed',
    kind: result.kind,
    code: result.code,
    message: clip('errorInfo', 'message', result.message),
    report: storedReport(step, result.report),
    ...(step === 'precheck' && run.factsDigest ? { factsDigest: run.factsDigest } : {}),
  };
  const history = [...run.history, record];
  // A failure keeps the first one recorded (a failed rollback still names the step that failed).
  const failure = (): HostRunDoc['failure'] =>
    run.failure ?? {
      step,
      kind: result.kind ?? 'execution',
      code: result.code,
      message: record.message,
      seq: ctx.nextSeq(),
      at: new Date(now),
    };
  switch (next.kind) {
    case 'dispatch': {
      // Nothing upgrades before the backup service has verified the backup it names.
      const backupId = step === 'backup' && result.ok ? backupIdOf(result.report) : '';
      const gate = backupId !== '' && next.step === 'upgrade' && !(run.backupVerified && run.backupId === backupId);
      const after: HostRunDoc = {
        ...run,
        history,
        ...startStep(run, next.step, next.attempt, ctx),
        ...(backupId ? { backupId, backupVerified: run.backupVerified && run.backupId === backupId } : {}),
        ...(gate ? { stepState: 'awaiting-backup' as const } : {}),
        ...(next.failed ? { failure: failure(), rollback: next.step === 'rollback' ? 'running' : (next.rollback ?? run.rollback) } : {}),
      };
      return { next, after };
    }
    case 'defer':
      return {
        next,
        after: {
          ...run,
          ...releaseSlot(run, ctx),
          history,
          state: 'pending',
          notBefore: new Date(now + ctx.clusterCheckDeferMs),
          deferrals: run.deferrals + 1,
        },
      };
    case 'succeeded':
      return { next, after: { ...run, ...releaseSlot(run, ctx), history, state: 'succeeded' } };
    case 'failed': {
      // The failure's sequence number comes before the release's.
      const failed = failure();
      return { next, after: { ...run, ...releaseSlot(run, ctx), history, state: 'failed', failure: failed, rollback: next.rollback } };
    }
    case 'held':
      return { next, after: { ...run, ...IDLE_STEP, history, state: 'held', failure: failure() } };
  }
}

export type BackupVerdict =
  /** Nothing to change: a duplicate, a late event about another backup, a run no longer active. */
  | { kind: 'ignore' }
  /** The backup is verified; `dispatch`: the upgrade waiting for it is dispatched now. */
  | { kind: 'verified'; after: HostRunDoc; dispatch: boolean }
  /** The backup failed while the upgrade waited for it: the run fails as its backup step. */
  | { kind: 'failed'; run: RunInStep; result: StepResult };

/** What the backup service's verdict on a backup does to a run. */
export function afterBackupEvent(run: HostRunDoc, evt: Pick<BackupEvent, 'backupId' | 'state' | 'reason'>, now: number): BackupVerdict {
  if (run.state !== 'active') return { kind: 'ignore' };
  if (evt.state === BackupState.VERIFIED) {
    if (run.backupVerified && run.backupId === evt.backupId) return { kind: 'ignore' };
    // A late event about an earlier attempt's backup: the run relies on the one it names.
    if (run.backupId && run.backupId !== evt.backupId) return { kind: 'ignore' };
    const waiting = run.stepState === 'awaiting-backup' && run.backupId === evt.backupId;
    const after: HostRunDoc = {
      ...run,
      backupId: evt.backupId,
      backupVerified: true,
      ...(waiting ? { stepState: 'dispatching' as const, dispatchedAt: new Date(now) } : {}),
    };
    return { kind: 'verified', after, dispatch: waiting };
  }
  if (evt.state === BackupState.FAILED && run.stepState === 'awaiting-backup' && run.backupId === evt.backupId) {
    // A failure of the backup, not of the upgrade (which never ran): nothing to roll back.
    return {
      kind: 'failed',
      run: { ...run, step: 'backup' },
      result: {
        ok: false,
        kind: 'execution',
        code: 'BACKUP_NOT_VERIFIED',
        message: `the backup service did not verify backup ${evt.backupId}: ${evt.reason}`,
        retryable: false,
        report: '',
        startedAt: null,
      },
    };
  }
  return { kind: 'ignore' };
}

/** The backup id a backup step reported (the migration driver's report names it). */
export function backupIdOf(report: string): string {
  try {
    const id = (JSON.parse(report) as { backup?: { id?: unknown } }).backup?.id;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}
