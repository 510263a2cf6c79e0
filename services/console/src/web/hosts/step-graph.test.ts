import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  columnsFor,
  durationParts,
  durationText,
  graphEdges,
  layoutNodes,
  nodeForStep,
  type RunSteps,
  runFacts,
  type StepRecordView,
  stepNodes,
} from './step-graph.ts';

const PATH = ['cluster-check', 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'] as RunSteps['path'];
let clock = Date.parse('2026-12-06T10:00:00.000Z');
const rec = (
  step: StepRecordView['step'],
  outcome: StepRecordView['outcome'] = 'succeeded',
  o: Partial<StepRecordView> = {},
): StepRecordView => {
  const startedAt = new Date(clock);
  clock += 1500;
  return {
    step,
    attempt: 1,
    commandId: `c-${clock}`,
    dispatchedAt: startedAt,
    startedAt,
    finishedAt: new Date(clock),
    outcome,
    kind: outcome === 'failed' ? 'execution' : null,
    code: outcome === 'failed' ? 'SIMULATED_FAILURE' : '',
    message: outcome === 'failed' ? `injected failure in ${step}` : '',
    report: '',
    ...o,
  };
};
const run = (o: Partial<RunSteps>): RunSteps => ({
  path: PATH,
  history: [],
  state: 'pending',
  step: null,
  stepState: null,
  percent: null,
  failure: null,
  rollback: 'none',
  ...o,
});
const states = (r: RunSteps): string[] => stepNodes(r).map((n) => `${n.id}:${n.state}`);

test('a run not started yet: every step pending', () => {
  assert.deepEqual(
    states(run({})),
    PATH.map((s) => `${s}:pending`),
  );
});

test('a run in its upgrade: the steps before succeeded, the upgrade running with its percent, the rest pending', () => {
  const r = run({
    state: 'active',
    step: 'upgrade',
    stepState: 'running',
    percent: 42,
    history: [rec('cluster-check'), rec('precheck'), rec('backup')],
  });
  const nodes = stepNodes(r);
  assert.deepEqual(
    nodes.map((n) => n.state),
    ['succeeded', 'succeeded', 'succeeded', 'running', 'pending', 'pending'],
  );
  assert.equal(nodes[3]?.percent, 42);
  assert.equal(nodes[3]?.durationMs, null);
  assert.equal(nodes[0]?.durationMs, 1500);
});

test('a run held after a failed upgrade: the upgrade red, the steps after it still pending (a retry may run them)', () => {
  const history = [rec('cluster-check'), rec('precheck'), rec('backup'), rec('upgrade', 'failed')];
  const failure = { step: 'upgrade' as const, kind: 'execution' as const, code: 'SIMULATED_FAILURE', message: 'x', seq: 4, at: new Date() };
  assert.deepEqual(states(run({ state: 'held', history, failure })), [
    'cluster-check:succeeded',
    'precheck:succeeded',
    'backup:succeeded',
    'upgrade:failed',
    'reboot:pending',
    'postcheck:pending',
  ]);
  // Retried (the scheduler clears the failure): the upgrade's second attempt runs.
  const retried = run({ state: 'active', step: 'upgrade', stepState: 'running', history, failure: null });
  assert.deepEqual(states(retried).slice(3), ['upgrade:running', 'reboot:pending', 'postcheck:pending']);
});

test('a failed upgrade rolled back: the upgrade red, the steps after it skipped, the rollback a node of its own', () => {
  const history = [rec('cluster-check'), rec('precheck'), rec('backup'), rec('upgrade', 'failed'), rec('rollback')];
  const failure = {
    step: 'upgrade' as const,
    kind: 'execution' as const,
    code: 'SIMULATED_FAILURE',
    message: 'injected failure',
    seq: 9,
    at: new Date(),
  };
  const r = run({ state: 'failed', history, failure, rollback: 'succeeded' });
  assert.deepEqual(states(r), [
    'cluster-check:succeeded',
    'precheck:succeeded',
    'backup:succeeded',
    'upgrade:failed',
    'reboot:skipped',
    'postcheck:skipped',
    'recovery-rollback:succeeded',
  ]);
  assert.deepEqual(
    graphEdges(stepNodes(r)).map((e) => `${e.id}${e.idle ? ' idle' : ''}`),
    [
      'cluster-check->precheck',
      'precheck->backup',
      'backup->upgrade',
      'upgrade->reboot idle',
      'reboot->postcheck idle',
      'upgrade->recovery-rollback',
    ],
  );
  assert.equal(nodeForStep(stepNodes(r), 'upgrade')?.last?.message, 'injected failure in upgrade');
  assert.equal(nodeForStep(stepNodes(r), 'rollback')?.id, 'recovery-rollback');
});

test('while the rollback runs it is the running node; the failed upgrade stays red', () => {
  const history = [rec('cluster-check'), rec('precheck'), rec('backup'), rec('upgrade', 'failed')];
  const failure = { step: 'upgrade' as const, kind: 'execution' as const, code: 'X', message: 'm', seq: 1, at: new Date() };
  const r = run({ state: 'active', step: 'rollback', stepState: 'running', percent: 10, history, failure, rollback: 'running' });
  assert.deepEqual(states(r).slice(3), ['upgrade:failed', 'reboot:skipped', 'postcheck:skipped', 'recovery-rollback:running']);
});

test('a postcheck failure rolled back: the upgrade and reboot it undid read rolled back', () => {
  const history = [
    rec('cluster-check'),
    rec('precheck'),
    rec('backup'),
    rec('upgrade'),
    rec('reboot'),
    rec('postcheck', 'failed'),
    rec('rollback'),
  ];
  const failure = { step: 'postcheck' as const, kind: 'execution' as const, code: 'X', message: 'm', seq: 1, at: new Date() };
  const r = run({ state: 'failed', history, failure, rollback: 'succeeded' });
  assert.deepEqual(states(r).slice(2), [
    'backup:succeeded',
    'upgrade:rolled-back',
    'reboot:rolled-back',
    'postcheck:failed',
    'recovery-rollback:succeeded',
  ]);
});

test('with drain and undrain: the undrain after a rollback is a recovery node, not the forward one', () => {
  const path = ['cluster-check', 'precheck', 'drain', 'backup', 'upgrade', 'reboot', 'undrain', 'postcheck'] as RunSteps['path'];
  const history = [
    rec('cluster-check'),
    rec('precheck'),
    rec('drain'),
    rec('backup'),
    rec('upgrade', 'failed'),
    rec('rollback'),
    rec('undrain'),
  ];
  const failure = { step: 'upgrade' as const, kind: 'execution' as const, code: 'X', message: 'm', seq: 1, at: new Date() };
  const r = run({ path, state: 'failed', history, failure, rollback: 'succeeded' });
  assert.deepEqual(states(r).slice(4), [
    'upgrade:failed',
    'reboot:skipped',
    'undrain:skipped',
    'postcheck:skipped',
    'recovery-rollback:succeeded',
    'recovery-undrain:succeeded',
  ]);
  // A deep link to the undrain opens the one that ran.
  assert.equal(nodeForStep(stepNodes(r), 'undrain')?.id, 'recovery-undrain');
});

test('a retried run draws its latest try; deferrals and a retried step stay in one', () => {
  const history = [
    rec('cluster-check', 'deferred'),
    rec('cluster-check'),
    rec('precheck'),
    rec('backup'),
    rec('upgrade', 'failed'),
    rec('rollback'),
    // retried: a new try from the first step
    rec('cluster-check'),
    rec('precheck'),
    rec('backup'),
    rec('upgrade', 'failed', { attempt: 1 }),
  ];
  const r = run({ state: 'active', step: 'upgrade', stepState: 'running', percent: 5, history });
  const nodes = stepNodes(r);
  assert.deepEqual(
    nodes.map((n) => `${n.id}:${n.state}`),
    ['cluster-check:succeeded', 'precheck:succeeded', 'backup:succeeded', 'upgrade:running', 'reboot:pending', 'postcheck:pending'],
  );
  assert.equal(nodes[3]?.attempts, 1);
});

test('a succeeded run is all green; an excluded one all skipped', () => {
  const history = PATH.map((s) => rec(s));
  assert.ok(stepNodes(run({ state: 'succeeded', history })).every((n) => n.state === 'succeeded'));
  assert.ok(stepNodes(run({ state: 'excluded' })).every((n) => n.state === 'skipped'));
});

test('layout: left to right, wrapping to the columns there is room for; recovery on a row below the failure', () => {
  const history = [rec('cluster-check'), rec('precheck'), rec('backup'), rec('upgrade', 'failed'), rec('rollback')];
  const failure = { step: 'upgrade' as const, kind: 'execution' as const, code: 'X', message: 'm', seq: 1, at: new Date() };
  const nodes = stepNodes(run({ state: 'failed', history, failure, rollback: 'succeeded' }));
  const wide = layoutNodes(nodes, columnsFor(1200));
  assert.equal(columnsFor(1200), 6);
  assert.deepEqual(new Set(wide.slice(0, 6).map((p) => p.y)), new Set([0]));
  assert.ok(wide.slice(0, 6).every((p, i) => i === 0 || p.x > (wide[i - 1]?.x ?? 0)));
  const rollback = wide.find((p) => p.id === 'recovery-rollback');
  assert.equal(rollback?.x, wide.find((p) => p.id === 'upgrade')?.x);
  assert.ok((rollback?.y ?? 0) > 0);
  const narrow = layoutNodes(nodes, columnsFor(360));
  assert.equal(columnsFor(360), 2);
  assert.ok(narrow.every((p) => p.x + 150 <= 360));
  assert.equal(columnsFor(10), 1);
});

test('durations: milliseconds, seconds with a tenth, minutes and seconds, hours and minutes, in the language', () => {
  assert.deepEqual(durationParts(850), [[850, 'millisecond']]);
  assert.deepEqual(durationParts(2345), [[2.3, 'second']]);
  assert.deepEqual(durationParts(65_000), [
    [1, 'minute'],
    [5, 'second'],
  ]);
  assert.deepEqual(durationParts(120_000), [[2, 'minute']]);
  assert.deepEqual(durationParts(3_720_000), [
    [1, 'hour'],
    [2, 'minute'],
  ]);
  assert.equal(durationText(2345, 'en'), '2.3 sec');
  assert.equal(durationText(65_000, 'en'), '1 min 5 sec');
  assert.equal(durationText(2345, 'zh-CN'), '2.3秒');
});

test("the backup id and the rollback strategy come from the backup's and the precheck's reports", () => {
  const history = [
    rec('precheck', 'succeeded', { report: JSON.stringify({ rollback: { chosen: 'snapshot', driver: 'copy' } }) }),
    rec('backup', 'succeeded', { report: JSON.stringify({ backup: { id: 'bk-1', sizeBytes: 2048 } }) }),
  ];
  assert.deepEqual(runFacts(history), { backupId: 'bk-1', backupBytes: 2048, rollbackStrategy: 'snapshot (copy)' });
  assert.deepEqual(runFacts([rec('backup', 'succeeded', { report: 'not json' })]), {
    backupId: null,
    backupBytes: null,
    rollbackStrategy: null,
  });
});
