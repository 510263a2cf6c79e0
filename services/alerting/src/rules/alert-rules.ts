// The alert rules: what each event (or control-plane sample) means for the alerts, as
// pure functions. Which alerts exist is code (each is a condition the scheduler, the
// backup service or the bus reports); their severity, extra labels, thresholds and
// whether they are on at all are data (rule-config.ts).
//
// An alert fires on the event that starts its condition and resolves on the event that
// ends it: a failed step's alert resolves when that step later succeeds on that host, or
// the host's run starts over, succeeds or is excluded; a plan's alert when the plan
// leaves the state that raised it.
import { type BackupEvent, BackupState, FailureKind, type HostRunEvent, type PlanEvent, Step, stepName } from '@yixing/common';
import type { LabelSet, Severity } from '../model/alert.ts';

export const ALERT_NAMES = [
  'StepFailed',
  'HostStuck',
  'AgentLost',
  'RollbackFailed',
  'ErrorBudgetExhausted',
  'CanaryFailed',
  'BackupVerificationFailed',
  'WindowClosing',
  'SchedulerDown',
  'EventsBacklog',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export interface RuleSettings {
  enabled: boolean;
  severity: Severity;
  /** Added to the alert's labels (a team, a service name for routing). */
  labels: LabelSet;
}

export interface RulesConfig {
  rules: Record<AlertName, RuleSettings>;
  /** SchedulerDown: the scheduler's step consumer has had no pull waiting this long. */
  schedulerAbsentMs: number;
  /** EventsBacklog: more step events than this wait for the scheduler ... */
  eventsBacklogMax: number;
  /** ... for this long. */
  eventsBacklogForMs: number;
}

const on = (severity: Severity): RuleSettings => ({ enabled: true, severity, labels: {} });

export const DEFAULT_RULES: RulesConfig = {
  rules: {
    StepFailed: on('warning'),
    HostStuck: on('warning'),
    AgentLost: on('critical'),
    RollbackFailed: on('critical'),
    ErrorBudgetExhausted: on('critical'),
    CanaryFailed: on('critical'),
    BackupVerificationFailed: on('warning'),
    WindowClosing: on('warning'),
    SchedulerDown: on('critical'),
    EventsBacklog: on('warning'),
  },
  schedulerAbsentMs: 60_000,
  eventsBacklogMax: 10_000,
  eventsBacklogForMs: 300_000,
};

/** The failed step of a host, to read its last log lines into the alert. */
export interface LogRef {
  hostId: string;
  runId: string;
  step: string;
}

export type AlertChange =
  | {
      op: 'fire';
      labels: LabelSet;
      annotations: LabelSet;
      /** The console page of what failed (a step and its log, or a plan). */
      path: string;
      at: number;
      log?: LogRef;
    }
  /** Resolves every firing alert whose labels include `where` and whose name is one of `names`. */
  | { op: 'resolve'; names: readonly AlertName[]; where: LabelSet; at: number };

/** Alerts about one host's run, which a later success or a fresh start of the run resolves. */
const HOST_ALERTS: readonly AlertName[] = ['StepFailed', 'HostStuck', 'AgentLost', 'RollbackFailed', 'BackupVerificationFailed'];
const STEP_ALERTS: readonly AlertName[] = ['StepFailed', 'HostStuck', 'AgentLost'];

const BY_FAILURE: Record<number, AlertName> = {
  [FailureKind.TIMEOUT]: 'HostStuck',
  [FailureKind.UNREACHABLE]: 'AgentLost',
};

function fire(
  rules: RulesConfig,
  name: AlertName,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  path: string,
  at: number,
  log?: LogRef,
): AlertChange[] {
  const rule = rules.rules[name];
  if (!rule.enabled) return [];
  const all: Record<string, string> = { ...rule.labels, ...labels, alertname: name, severity: rule.severity };
  const clean = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== ''));
  return [{ op: 'fire', labels: clean, annotations, path, at, ...(log ? { log } : {}) }];
}

export const hostPath = (plan: string, host: string, step?: string): string =>
  `/plans/${encodeURIComponent(plan)}/hosts/${encodeURIComponent(host)}${step ? `/steps/${encodeURIComponent(step)}` : ''}`;
export const planPath = (plan: string): string => `/plans/${encodeURIComponent(plan)}`;

/** What a host-run's stored change means for its alerts. */
export function alertsOfHostRun(evt: HostRunEvent, rules: RulesConfig): AlertChange[] {
  const where = { plan: evt.planId, host: evt.hostId };
  const at = evt.atMs;
  const changes: AlertChange[] = [];
  // A run that starts over (retried), succeeded or was excluded has nothing left to alert about.
  if (evt.state === 'pending' || evt.state === 'succeeded' || evt.state === 'excluded')
    changes.push({ op: 'resolve', names: HOST_ALERTS, where, at });
  if (evt.step === Step.UNSPECIFIED) return changes;
  const step = stepName(evt.step);
  if (evt.kind === 'step-succeeded' && evt.state !== 'succeeded')
    changes.push({ op: 'resolve', names: STEP_ALERTS, where: { ...where, step }, at });
  if (evt.kind !== 'step-failed') return changes;
  const labels = {
    ...where,
    wave: String(evt.waveIndex),
    step,
    failure_code: evt.error?.code ?? '',
    cluster: evt.cluster,
    zone: evt.zone,
    rack: evt.rack,
  };
  const message = evt.error?.message ?? '';
  const annotations = {
    summary: `${evt.hostId}: ${step} failed (${evt.error?.code || 'no code'})`,
    description: message,
    run: evt.runId,
    wave_name: evt.waveName,
    attempt: String(evt.attempt),
    state: evt.state,
    rollback: evt.rollback,
  };
  const log = { hostId: evt.hostId, runId: evt.runId, step };
  const path = hostPath(evt.planId, evt.hostId, step);
  if (evt.step === Step.ROLLBACK || evt.rollback === 'failed') {
    return [
      ...changes,
      ...fire(
        rules,
        'RollbackFailed',
        labels,
        { ...annotations, summary: `${evt.hostId}: rollback failed; the host needs a human` },
        path,
        at,
        log,
      ),
    ];
  }
  const name = BY_FAILURE[evt.error?.kind ?? FailureKind.EXECUTION] ?? 'StepFailed';
  return [...changes, ...fire(rules, name, labels, annotations, path, at, log)];
}

const failuresOf = (evt: PlanEvent): number => {
  const c = evt.counters;
  return c ? c.failed + c.failedExecution + c.failedTimeout + c.failedUnreachable : 0;
};

/**
 * What a plan event means: a plan whose error budget is exhausted (it stopped taking
 * hosts) or whose canary failed (it waits for an approval) fires until it leaves that
 * state; hosts in flight as the window closes fire until the scheduler says it is clear.
 */
export function alertsOfPlan(evt: PlanEvent, rules: RulesConfig): AlertChange[] {
  const where = { plan: evt.planId };
  const at = evt.atMs;
  const changes: AlertChange[] = [];
  if (evt.state !== 'budget-exhausted') changes.push({ op: 'resolve', names: ['ErrorBudgetExhausted'], where, at });
  if (evt.state !== 'waiting-approval') changes.push({ op: 'resolve', names: ['CanaryFailed'], where, at });
  if (evt.kind === 'window-clear' || evt.state === 'completed' || evt.state === 'aborted')
    changes.push({ op: 'resolve', names: ['WindowClosing'], where, at });
  const labels = { ...where, wave: String(evt.waveIndex) };
  const annotations = { summary: `plan ${evt.planId}: ${evt.message}`, description: evt.message, failed_hosts: String(failuresOf(evt)) };
  if (evt.kind === 'budget-exhausted') changes.push(...fire(rules, 'ErrorBudgetExhausted', labels, annotations, planPath(evt.planId), at));
  // The canary gate is the only one that waits for an approval; with failures it failed.
  if (evt.kind === 'waiting-approval' && failuresOf(evt) > 0)
    changes.push(...fire(rules, 'CanaryFailed', labels, annotations, planPath(evt.planId), at));
  // Hosts still in flight when no more may start: they may run past the maintenance window.
  if (evt.kind === 'window-closing') changes.push(...fire(rules, 'WindowClosing', labels, annotations, planPath(evt.planId), at));
  return changes;
}

/** A backup the service could not verify fires until a later backup of that host is verified. */
export function alertsOfBackup(evt: BackupEvent, rules: RulesConfig): AlertChange[] {
  const where = { host: evt.hostId };
  if (evt.state === BackupState.VERIFIED) return [{ op: 'resolve', names: ['BackupVerificationFailed'], where, at: evt.atMs }];
  if (evt.state !== BackupState.FAILED) return [];
  return fire(
    rules,
    'BackupVerificationFailed',
    { ...where, backup: evt.backupId },
    { summary: `${evt.hostId}: backup ${evt.backupId} failed verification`, description: evt.reason, run: evt.runId },
    `/backups/${encodeURIComponent(evt.backupId)}`,
    evt.atMs,
  );
}

/** One look at the scheduler's step consumer: its pulls waiting and the events it has not taken. */
export type ConsumerSample = { at: number; found: false } | { at: number; found: true; pullsWaiting: number; backlog: number };

/** Since when each control-plane condition has held (null: it does not). */
export interface ControlPlaneMemory {
  absentSince: number | null;
  backlogSince: number | null;
}

export const CONTROL_PLANE_CLEAR: ControlPlaneMemory = { absentSince: null, backlogSince: null };

/**
 * The control plane's alerts, like Prometheus rules with a `for`: SchedulerDown once no
 * scheduler has pulled step events for `schedulerAbsentMs` (no pull waiting on its durable
 * consumer, or no consumer at all), EventsBacklog once more than `eventsBacklogMax` events
 * have waited for `eventsBacklogForMs`. Each resolves when its condition clears.
 */
export function alertsOfControlPlane(
  memory: ControlPlaneMemory,
  sample: ConsumerSample,
  rules: RulesConfig,
): { memory: ControlPlaneMemory; changes: AlertChange[] } {
  const at = sample.at;
  const absent = !sample.found || sample.pullsWaiting === 0;
  const backlogged = sample.found && sample.backlog > rules.eventsBacklogMax;
  const next = {
    absentSince: absent ? (memory.absentSince ?? at) : null,
    backlogSince: backlogged ? (memory.backlogSince ?? at) : null,
  };
  const changes: AlertChange[] = [];
  const where = { component: 'scheduler' };
  if (next.absentSince === null) changes.push({ op: 'resolve', names: ['SchedulerDown'], where, at });
  else if (at - next.absentSince >= rules.schedulerAbsentMs)
    changes.push(
      ...fire(
        rules,
        'SchedulerDown',
        where,
        {
          summary: 'no scheduler is taking step events',
          description: sample.found ? 'its consumer has no pull waiting' : 'its consumer does not exist',
        },
        '/',
        next.absentSince,
      ),
    );
  if (next.backlogSince === null) changes.push({ op: 'resolve', names: ['EventsBacklog'], where, at });
  else if (sample.found && at - next.backlogSince >= rules.eventsBacklogForMs)
    changes.push(
      ...fire(
        rules,
        'EventsBacklog',
        where,
        {
          summary: `${sample.backlog} step events wait for the scheduler`,
          description: `more than ${rules.eventsBacklogMax} for ${Math.round((at - next.backlogSince) / 1000)} s`,
        },
        '/',
        next.backlogSince,
      ),
    );
  return { memory: next, changes };
}
