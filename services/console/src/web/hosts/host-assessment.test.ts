import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostAssessment, orderFindings } from './host-assessment.ts';
import type { StepRecordView } from './step-graph.ts';

const record = (over: Partial<StepRecordView>): StepRecordView =>
  ({
    step: 'precheck',
    attempt: 1,
    commandId: 'c',
    dispatchedAt: '2026-12-06T10:00:00.000Z',
    startedAt: '2026-12-06T10:00:01.000Z',
    finishedAt: '2026-12-06T10:00:05.000Z',
    outcome: 'succeeded',
    kind: null,
    code: '',
    message: '',
    report: '',
    ...over,
  }) as unknown as StepRecordView;

const finding = (id: string, severity: string, inhibitor: boolean) => ({
  id,
  severity,
  inhibitor,
  title: `t ${id}`,
  remediation: `fix ${id}`,
});

test('inhibitors come first, then the most severe, then by id', () => {
  const ordered = orderFindings([
    { ...finding('b-info', 'info', false), kind: 'b-info' },
    { ...finding('z-high', 'high', false), kind: 'z-high' },
    { ...finding('m-low-inhibitor', 'low', true), kind: 'm-low-inhibitor' },
    { ...finding('a-high-inhibitor', 'high', true), kind: 'a-high-inhibitor' },
    { ...finding('a-high', 'high', false), kind: 'a-high' },
  ] as never);
  assert.deepEqual(
    ordered.map((f) => f.id),
    ['a-high-inhibitor', 'm-low-inhibitor', 'a-high', 'z-high', 'b-info'],
  );
});

test('the latest precheck with a report is read; its inhibitors are counted', () => {
  const first = JSON.stringify({ at: 'x', findings: [finding('old', 'high', true)] });
  const latest = JSON.stringify({
    at: '2026-12-06T10:00:04Z',
    findings: [finding('disk-space:/', 'medium', false), finding('held-packages', 'high', true)],
    roles: ['libvirt', 'containers'],
    preview: { downloadBytes: 1048576, installBytes: 2097152, upgrades: 120, installs: 4 },
  });
  const a = hostAssessment([
    record({ report: first, outcome: 'failed', code: 'PRECHECK_INHIBITED' }),
    record({ step: 'backup', report: '{}' }),
    record({ report: latest }),
    record({ step: 'precheck', outcome: 'deferred', report: '' }),
  ]);
  assert.equal(a.state, 'read');
  if (a.state !== 'read') return;
  assert.deepEqual(
    a.findings.map((f) => [f.id, f.kind, f.inhibitor]),
    [
      ['held-packages', 'held-packages', true],
      ['disk-space:/', 'disk-space', false],
    ],
  );
  assert.equal(a.inhibitors, 1);
  assert.deepEqual(a.report.roles, ['containers', 'libvirt']);
  assert.deepEqual(a.report.preview, { downloadBytes: 1048576, installBytes: 2097152, upgrades: 120, installs: 4 });
  assert.equal(a.finishedAt, '2026-12-06T10:00:05.000Z');
});

test('no precheck yet is none; a report that is not an assessment says why', () => {
  assert.deepEqual(hostAssessment([record({ step: 'cluster-check', report: '{}' })]), { state: 'none' });
  const bad = hostAssessment([record({ report: '{"findings": 3}' })]);
  assert.equal(bad.state, 'unreadable');
  assert.match(bad.state === 'unreadable' ? bad.reason : '', /findings is not an array/);
});
