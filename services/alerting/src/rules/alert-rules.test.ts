import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import {
  BackupEventSchema,
  BackupState,
  FailureKind,
  HostRunEventSchema,
  type MessageInitShape,
  PlanEventSchema,
  Step,
} from '@yixing/common';
import {
  type AlertChange,
  alertsOfBackup,
  alertsOfControlPlane,
  alertsOfHostRun,
  alertsOfPlan,
  CONTROL_PLANE_CLEAR,
  DEFAULT_RULES,
  type RulesConfig,
} from './alert-rules.ts';

const hostRun = (over: MessageInitShape<typeof HostRunEventSchema>) =>
  create(HostRunEventSchema, {
    eventId: 'hostrun.p1.h1.3',
    hostId: 'h1',
    planId: 'p1',
    runId: 'r1',
    state: 'active',
    rollback: 'none',
    waveIndex: 2,
    waveName: 'wave-2',
    cluster: 'c1',
    zone: 'z1',
    rack: '',
    atMs: 1_000,
    ...over,
  });
const failed = (kind: FailureKind, step = Step.UPGRADE) =>
  hostRun({ kind: 'step-failed', step, attempt: 1, error: { code: 'DNF_FAILED', message: 'transaction check error', kind } });
const fires = (changes: AlertChange[]) => changes.filter((c) => c.op === 'fire');
const resolves = (changes: AlertChange[]) => changes.filter((c) => c.op === 'resolve');

describe('alertsOfHostRun', () => {
  it('a failed step fires StepFailed with where it failed, the failure code, and its log to read', () => {
    const [alert, ...rest] = fires(alertsOfHostRun(failed(FailureKind.EXECUTION), DEFAULT_RULES));
    assert.equal(rest.length, 0);
    assert.ok(alert?.op === 'fire');
    assert.deepEqual(alert.labels, {
      alertname: 'StepFailed',
      severity: 'warning',
      plan: 'p1',
      host: 'h1',
      wave: '2',
      step: 'upgrade',
      failure_code: 'DNF_FAILED',
      cluster: 'c1',
      zone: 'z1',
    });
    assert.equal(alert.annotations.description, 'transaction check error');
    assert.equal(alert.path, '/plans/p1/hosts/h1/steps/upgrade');
    assert.deepEqual(alert.log, { hostId: 'h1', runId: 'r1', step: 'upgrade' });
  });

  it('a step past its deadline is HostStuck, an agent gone is AgentLost (critical)', () => {
    assert.equal(fires(alertsOfHostRun(failed(FailureKind.TIMEOUT), DEFAULT_RULES))[0]?.labels.alertname, 'HostStuck');
    const lost = fires(alertsOfHostRun(failed(FailureKind.UNREACHABLE), DEFAULT_RULES))[0];
    assert.equal(lost?.labels.alertname, 'AgentLost');
    assert.equal(lost?.labels.severity, 'critical');
  });

  it('a failed rollback is RollbackFailed, critical', () => {
    const alert = fires(
      alertsOfHostRun({ ...failed(FailureKind.EXECUTION, Step.ROLLBACK), rollback: 'failed', state: 'failed' }, DEFAULT_RULES),
    )[0];
    assert.equal(alert?.labels.alertname, 'RollbackFailed');
    assert.equal(alert?.labels.severity, 'critical');
  });

  it('the step succeeding later resolves that step’s alerts on that host only', () => {
    const changes = alertsOfHostRun(hostRun({ kind: 'step-succeeded', step: Step.UPGRADE }), DEFAULT_RULES);
    assert.deepEqual(resolves(changes), [
      { op: 'resolve', names: ['StepFailed', 'HostStuck', 'AgentLost'], where: { plan: 'p1', host: 'h1', step: 'upgrade' }, at: 1_000 },
    ]);
  });

  for (const state of ['pending', 'succeeded', 'excluded']) {
    it(`a run that is ${state} resolves every alert of the host in the plan`, () => {
      const [r] = resolves(alertsOfHostRun(hostRun({ kind: 'state', state }), DEFAULT_RULES));
      assert.ok(r?.op === 'resolve');
      assert.deepEqual(r.where, { plan: 'p1', host: 'h1' });
      assert.ok(r.names.includes('RollbackFailed'));
    });
  }

  it('settings are data: a disabled rule fires nothing; severity and extra labels come from the rule', () => {
    const rules: RulesConfig = {
      ...DEFAULT_RULES,
      rules: {
        ...DEFAULT_RULES.rules,
        StepFailed: { enabled: true, severity: 'critical', labels: { team: 'os', plan: 'not-this' } },
        HostStuck: { enabled: false, severity: 'warning', labels: {} },
      },
    };
    const alert = fires(alertsOfHostRun(failed(FailureKind.EXECUTION), rules))[0];
    assert.equal(alert?.labels.severity, 'critical');
    assert.equal(alert?.labels.team, 'os');
    assert.equal(alert?.labels.plan, 'p1', 'the event’s labels win over the rule’s');
    assert.deepEqual(fires(alertsOfHostRun(failed(FailureKind.TIMEOUT), rules)), []);
  });
});

describe('alertsOfPlan', () => {
  const plan = (over: MessageInitShape<typeof PlanEventSchema>) =>
    create(PlanEventSchema, { eventId: 'e', planId: 'p1', waveIndex: 1, atMs: 5, message: 'budget gone', ...over });

  it('an exhausted budget fires until the plan leaves that state', () => {
    const fired = fires(alertsOfPlan(plan({ kind: 'budget-exhausted', state: 'budget-exhausted' }), DEFAULT_RULES));
    assert.equal(fired[0]?.labels.alertname, 'ErrorBudgetExhausted');
    assert.equal(fired[0]?.labels.plan, 'p1');
    const resumed = resolves(alertsOfPlan(plan({ kind: 'resumed', state: 'running' }), DEFAULT_RULES));
    assert.ok(resumed.some((r) => r.op === 'resolve' && r.names.includes('ErrorBudgetExhausted')));
  });

  it('a canary gate waiting with failures is CanaryFailed; without failures it is no alert', () => {
    const failedCanary = plan({ kind: 'waiting-approval', state: 'waiting-approval', waveIndex: 0, counters: { failedExecution: 2 } });
    assert.equal(fires(alertsOfPlan(failedCanary, DEFAULT_RULES))[0]?.labels.alertname, 'CanaryFailed');
    const clean = plan({ kind: 'waiting-approval', state: 'waiting-approval', waveIndex: 0, counters: {} });
    assert.deepEqual(fires(alertsOfPlan(clean, DEFAULT_RULES)), []);
  });
});

describe('alertsOfPlan: maintenance windows', () => {
  const plan = (kind: string, state = 'running') =>
    create(PlanEventSchema, {
      eventId: kind,
      planId: 'p1',
      kind,
      state,
      waveIndex: 1,
      atMs: 7,
      message: 'window closes at 03:00 with 3 hosts in flight',
    });

  it('hosts in flight as the window closes fire WindowClosing, until the scheduler says clear or the plan ends', () => {
    const [alert] = fires(alertsOfPlan(plan('window-closing'), DEFAULT_RULES));
    assert.equal(alert?.labels.alertname, 'WindowClosing');
    assert.equal(alert?.annotations.description, 'window closes at 03:00 with 3 hosts in flight');
    assert.ok(
      !resolves(alertsOfPlan(plan('window-closing'), DEFAULT_RULES)).some((r) => r.op === 'resolve' && r.names.includes('WindowClosing')),
    );
    for (const [kind, state] of [
      ['window-clear', 'running'],
      ['completed', 'completed'],
      ['aborted', 'aborted'],
    ] as const)
      assert.ok(
        resolves(alertsOfPlan(plan(kind, state), DEFAULT_RULES)).some((r) => r.op === 'resolve' && r.names.includes('WindowClosing')),
        kind,
      );
  });
});

describe('alertsOfBackup', () => {
  const backup = (state: BackupState) =>
    create(BackupEventSchema, {
      eventId: 'e',
      hostId: 'h1',
      runId: 'r1',
      backupId: 'b-20261206-0123456789ab',
      state,
      reason: 'sha256 differs',
      atMs: 9,
    });

  it('a backup that failed verification fires; a later verified one resolves', () => {
    const [alert] = fires(alertsOfBackup(backup(BackupState.FAILED), DEFAULT_RULES));
    assert.equal(alert?.labels.alertname, 'BackupVerificationFailed');
    assert.equal(alert?.annotations.description, 'sha256 differs');
    assert.deepEqual(resolves(alertsOfBackup(backup(BackupState.VERIFIED), DEFAULT_RULES))[0], {
      op: 'resolve',
      names: ['BackupVerificationFailed'],
      where: { host: 'h1' },
      at: 9,
    });
    assert.deepEqual(alertsOfBackup(backup(BackupState.UPLOADING), DEFAULT_RULES), []);
  });
});

describe('alertsOfControlPlane', () => {
  const rules = { ...DEFAULT_RULES, schedulerAbsentMs: 60_000, eventsBacklogMax: 100, eventsBacklogForMs: 10_000 };

  it('SchedulerDown fires once nobody pulled for the whole period, from when it started, and resolves when a pull waits again', () => {
    let m = alertsOfControlPlane(CONTROL_PLANE_CLEAR, { at: 0, found: true, pullsWaiting: 0, backlog: 0 }, rules);
    assert.deepEqual(fires(m.changes), []);
    m = alertsOfControlPlane(m.memory, { at: 59_999, found: false }, rules);
    assert.deepEqual(fires(m.changes), []);
    m = alertsOfControlPlane(m.memory, { at: 60_000, found: false }, rules);
    const [down] = fires(m.changes);
    assert.equal(down?.labels.alertname, 'SchedulerDown');
    assert.equal(down?.at, 0);
    m = alertsOfControlPlane(m.memory, { at: 61_000, found: true, pullsWaiting: 1, backlog: 0 }, rules);
    assert.ok(resolves(m.changes).some((r) => r.op === 'resolve' && r.names.includes('SchedulerDown')));
    assert.equal(m.memory.absentSince, null);
  });

  it('EventsBacklog needs the backlog above its limit for its whole period', () => {
    let m = alertsOfControlPlane(CONTROL_PLANE_CLEAR, { at: 0, found: true, pullsWaiting: 1, backlog: 500 }, rules);
    m = alertsOfControlPlane(m.memory, { at: 5_000, found: true, pullsWaiting: 1, backlog: 50 }, rules);
    m = alertsOfControlPlane(m.memory, { at: 6_000, found: true, pullsWaiting: 1, backlog: 500 }, rules);
    m = alertsOfControlPlane(m.memory, { at: 15_000, found: true, pullsWaiting: 1, backlog: 500 }, rules);
    assert.deepEqual(fires(m.changes), [], 'the dip at 5 s started the period over');
    m = alertsOfControlPlane(m.memory, { at: 16_000, found: true, pullsWaiting: 1, backlog: 500 }, rules);
    assert.equal(fires(m.changes)[0]?.labels.alertname, 'EventsBacklog');
  });
});
