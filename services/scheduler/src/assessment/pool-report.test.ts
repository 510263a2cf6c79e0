// The pool report from hosts' latest assessments: statuses, findings grouped by kind with
// the hosts they affect, totals and the duration model, and the CSV a spreadsheet reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assessmentReport, type TestFinding as F, MiB } from '../../../../tests/fixtures/assessment-reports.ts';
import { readAssessmentReport } from './assessment-report.ts';
import { DEFAULT_ESTIMATE_MODEL, estimateDuration, hostSeconds } from './duration-estimate.ts';
import {
  buildPoolReport,
  type HostAssessment,
  overviewOf,
  type PoolHost,
  PoolReportBuilder,
  PRECHECK_INHIBITED,
  type PrecheckRecord,
} from './pool-report.ts';
import { poolReportCsv } from './pool-report-csv.ts';

const report = assessmentReport;

const assessed = (
  hostId: string,
  findings: F[],
  extra: Record<string, unknown> = {},
  over: Partial<HostAssessment> = {},
): HostAssessment => {
  const inhibited = findings.some((f) => f.inhibitor);
  return {
    hostId,
    run: { state: inhibited ? 'failed' : 'succeeded' },
    precheck: {
      planId: 'p-1',
      outcome: inhibited ? 'failed' : 'succeeded',
      code: inhibited ? PRECHECK_INHIBITED : '',
      message: inhibited ? 'inhibitors found' : '',
      report: report(findings, extra),
      finishedAt: new Date('2026-12-06T10:00:05Z'),
    },
    source: 'plan',
    ...over,
  };
};

test('hosts are ready, ready with warnings, inhibited, or not assessed with the reason', () => {
  const r = buildPoolReport([
    assessed('h-ready', [{ id: 'services-not-assessed', severity: 'info' }]),
    assessed('h-warn', [{ id: 'obsolete-packages', severity: 'medium' }]),
    assessed('h-inh', [
      { id: 'held-packages', inhibitor: true },
      { id: 'obsolete-packages', severity: 'low' },
    ]),
    { hostId: 'h-pending', run: { state: 'pending' }, precheck: null, source: 'plan' },
    { hostId: 'h-active', run: { state: 'active' }, precheck: null, source: 'plan' },
    { hostId: 'h-excl', run: { state: 'excluded', exclusionReason: 'agent 1.0.0 is older than 1.2.0' }, precheck: null, source: 'plan' },
    {
      hostId: 'h-timeout',
      run: { state: 'failed', failure: { step: 'precheck', code: 'STEP_TIMEOUT', message: 'no answer in 600 s' } },
      precheck: { planId: 'p-1', outcome: 'failed', code: 'STEP_TIMEOUT', message: 'no answer in 600 s', report: '', finishedAt: null },
      source: 'plan',
    },
    { hostId: 'h-never', run: null, precheck: null, source: 'plan' },
  ]);
  assert.deepEqual(r.counts, { hosts: 8, ready: 1, warnings: 1, inhibited: 1, notAssessed: 5, reused: 0, truncated: 0 });
  const by = Object.fromEntries(r.hosts.map((h) => [h.hostId, h]));
  assert.equal(by['h-ready']?.status, 'ready');
  assert.deepEqual(by['h-warn']?.warnings, ['obsolete-packages']);
  assert.equal(by['h-inh']?.status, 'inhibited');
  assert.equal(by['h-inh']?.reason, 'held-packages found');
  assert.equal(by['h-excl']?.reason, 'agent 1.0.0 is older than 1.2.0');
  assert.equal(by['h-timeout']?.reason, 'precheck failed: STEP_TIMEOUT: no answer in 600 s');
  assert.equal(by['h-active']?.reason, 'being assessed');
  assert.deepEqual(
    r.notAssessed.map((n) => [n.reason, n.hosts]),
    [
      ['pending', ['h-active', 'h-pending']],
      ['excluded', ['h-excl']],
      ['failed', ['h-timeout']],
      ['never', ['h-never']],
    ],
  );
  assert.deepEqual(
    r.hosts.map((h) => h.hostId),
    ['h-active', 'h-excl', 'h-inh', 'h-never', 'h-pending', 'h-ready', 'h-timeout', 'h-warn'],
  );
});

test('findings are grouped by the kind before ":", with the highest severity and every affected host', () => {
  const r = buildPoolReport([
    assessed('h-1', [{ id: 'disk-space:/,/var/cache/apt/archives', inhibitor: true, title: 'not enough free space for /: 10 MiB free' }]),
    assessed('h-2', [
      { id: 'disk-space:/var', inhibitor: true },
      { id: 'disk-space:/boot', inhibitor: true },
    ]),
    assessed('h-3', [{ id: 'foreign-repositories', inhibitor: true }]),
    assessed('h-4', [{ id: 'obsolete-packages', severity: 'low' }]),
    assessed('h-5', [{ id: 'obsolete-packages', severity: 'medium' }]),
  ]);
  assert.deepEqual(
    r.inhibitors.map((k) => [k.kind, k.hostCount, k.hosts]),
    [
      ['disk-space', 2, ['h-1', 'h-2']],
      ['foreign-repositories', 1, ['h-3']],
    ],
  );
  const disk = r.inhibitors[0];
  assert.equal(disk?.title, 'not enough free space for /: 10 MiB free');
  assert.equal(disk?.remediation, 'fix disk-space:/,/var/cache/apt/archives');
  assert.deepEqual(r.hosts.find((h) => h.hostId === 'h-2')?.inhibitors, ['disk-space:/var', 'disk-space:/boot']);
  assert.deepEqual(
    r.warnings.map((k) => [k.kind, k.severity, k.hostCount]),
    [['obsolete-packages', 'medium', 2]],
  );
});

test('a report that cannot be read makes that host not assessed, and the rest is reported', () => {
  const bad = (hostId: string, text: string): HostAssessment => ({
    ...assessed(hostId, []),
    precheck: { ...(assessed(hostId, []).precheck as PrecheckRecord), report: text },
  });
  const r = buildPoolReport([
    bad('h-trunc', '{"findings": [{"id": "held'),
    bad('h-garbled', '{"findings": [], "preview": nulx}'),
    bad('h-array', '[1, 2]'),
    bad('h-no-id', JSON.stringify({ findings: [{ severity: 'high', inhibitor: true }] })),
    bad('h-sev', JSON.stringify({ findings: [{ id: 'x', severity: 'fatal', inhibitor: true }] })),
    bad('h-preview', JSON.stringify({ findings: [], preview: { downloadBytes: 'lots' } })),
    bad('h-empty', ''),
    assessed('h-ok', []),
  ]);
  assert.equal(r.counts.ready, 1);
  assert.equal(r.counts.notAssessed, 7);
  const reasons = Object.fromEntries(r.hosts.map((h) => [h.hostId, `${h.notAssessed}: ${h.reason}`]));
  assert.equal(reasons['h-trunc'], 'unreadable: the stored report was cut at 26 characters: it was cut before its findings ended');
  assert.match(reasons['h-garbled'] as string, /^unreadable: the report is not JSON/);
  assert.equal(reasons['h-array'], 'unreadable: the report is not an assessment: the report is not a JSON object');
  assert.equal(reasons['h-no-id'], 'unreadable: the report is not an assessment: findings[0].id is not a non-empty string');
  assert.match(reasons['h-sev'] as string, /findings\[0\]\.severity is not one of info, low, medium, high/);
  assert.match(reasons['h-preview'] as string, /preview\.downloadBytes is not a non-negative number/);
  assert.equal(reasons['h-empty'], 'unreadable: the precheck stored no report');
});

test('an inhibited precheck whose report names no inhibitor still inhibits the host', () => {
  const a = assessed('h-1', [{ id: 'held-packages', inhibitor: true }]);
  const r = buildPoolReport([{ ...a, precheck: { ...(a.precheck as PrecheckRecord), report: report([]), message: '1 inhibitor' } }]);
  assert.equal(r.counts.inhibited, 1);
  assert.deepEqual(r.inhibitors[0]?.kind, 'unnamed-inhibitor');
  assert.equal(r.inhibitors[0]?.title, '1 inhibitor');
});

test('roles, reused assessments and totals over the hosts that could migrate now', () => {
  const r = buildPoolReport([
    assessed('h-1', [], { roles: ['podman', 'libvirt', 'podman'] }),
    assessed('h-2', [], { roles: ['podman'], factsDigest: 'sha256:ab' }, { source: 'reused' }),
    assessed('h-3', [{ id: 'held-packages', inhibitor: true }], { roles: ['hdfs-datanode'] }),
    assessed('h-4', [], { preview: null }),
  ]);
  assert.deepEqual(r.roles, [
    { role: 'podman', hostCount: 2 },
    { role: 'hdfs-datanode', hostCount: 1 },
    { role: 'libvirt', hostCount: 1 },
  ]);
  assert.equal(r.counts.reused, 1);
  assert.equal(r.hosts.find((h) => h.hostId === 'h-2')?.source, 'reused');
  // The inhibited host and the one without a preview add nothing.
  assert.deepEqual(r.totals, { hosts: 2, downloadBytes: 200 * MiB, installBytes: 100 * MiB, upgrades: 600, installs: 40 });
  assert.equal(r.estimate.hosts, 2);
});

test('the duration: fixed part, download at the throughput, a cost per package; makespan over the slots', () => {
  const model = { bytesPerSecond: 10 * MiB, secondsPerPackage: 0.5, fixedSeconds: 100, slots: 2 };
  // 100 + 100 MiB / 10 MiB/s + 320 × 0.5 = 270 s.
  assert.equal(hostSeconds({ downloadBytes: 100 * MiB, installBytes: 0, upgrades: 300, installs: 20 }, model), 270);
  // Σ d / slots when the work is spread thin, the longest host when one dominates.
  assert.equal(estimateDuration([100, 100, 100, 100], model).makespanSeconds, 200);
  assert.equal(estimateDuration([1000, 10, 10], model).makespanSeconds, 1000);
  assert.equal(estimateDuration([], model).makespanSeconds, 0);
  const r = buildPoolReport([assessed('h-1', []), assessed('h-2', []), assessed('h-3', [])], { model });
  assert.deepEqual([r.estimate.totalHostSeconds, r.estimate.longestHostSeconds, r.estimate.makespanSeconds], [810, 270, 405]);
  assert.equal(r.hosts[0]?.estimatedSeconds, 270);
  assert.equal(buildPoolReport([assessed('h-1', [])]).estimate.model, DEFAULT_ESTIMATE_MODEL);
});

test('an overview leaves out the per-host lines and names the first hosts of each kind', () => {
  const r = buildPoolReport(
    Array.from({ length: 30 }, (_, i) => assessed(`h-${String(i).padStart(2, '0')}`, [{ id: 'held-packages', inhibitor: true }])),
  );
  const o = overviewOf(r, 3);
  assert.equal('hosts' in o, false);
  assert.deepEqual(o.inhibitors[0]?.hosts, ['h-00', 'h-01', 'h-02']);
  assert.equal(o.inhibitors[0]?.hostCount, 30);
  assert.equal(r.inhibitors[0]?.hosts.length, 30, 'the full report is left as it was');
});

test("a host's latest precheck wins, in whatever order its prechecks come", () => {
  const at = (minute: number, attempt: number, findings: F[]): HostAssessment => {
    const a = assessed('h-1', findings);
    return { ...a, precheck: { ...(a.precheck as PrecheckRecord), finishedAt: new Date(Date.UTC(2026, 11, 6, 10, minute)), attempt } };
  };
  const inhibited = at(1, 1, [{ id: 'held-packages', inhibitor: true }]);
  const ready = at(2, 2, []);
  const none: HostAssessment = { hostId: 'h-1', run: { state: 'pending' }, precheck: null, source: 'plan' };
  for (const order of [
    [inhibited, ready, none],
    [none, ready, inhibited],
    [ready, none, inhibited],
  ]) {
    const b = new PoolReportBuilder();
    for (const a of order) b.add(a);
    assert.equal(b.hasPrecheck('h-1'), true);
    const r = b.build(new Date('2026-12-06T12:00:00Z'));
    assert.deepEqual(r.counts, { hosts: 1, ready: 1, warnings: 0, inhibited: 0, notAssessed: 0, reused: 0, truncated: 0 });
    assert.deepEqual(r.inhibitors, []);
    assert.equal(r.generatedAt, '2026-12-06T12:00:00.000Z');
  }
  // Finished at the same moment: the later attempt.
  const b = new PoolReportBuilder();
  b.add(at(3, 2, [{ id: 'held-packages', inhibitor: true }]));
  assert.equal(b.add(at(3, 1, [])), false);
  assert.equal(b.build().counts.inhibited, 1);
});

test('the CSV has one row per host, quotes what needs it and escapes formulas', () => {
  const r = buildPoolReport([
    assessed('h-1', [{ id: 'held-packages', inhibitor: true, title: '2 held: "a", b\nc' }], { roles: ['podman', 'docker'] }),
    {
      hostId: 'h-2',
      run: { state: 'failed' },
      precheck: {
        planId: 'p-1',
        outcome: 'failed',
        code: 'EXEC',
        message: '=HYPERLINK("x")',
        report: '',
        finishedAt: '2026-12-06T10:00:00Z',
      },
      source: 'plan',
    },
    assessed('h-3', [], {}, { source: 'reused' }),
  ]);
  const csv = poolReportCsv(r);
  const lines = csv.split('\r\n');
  assert.equal(
    lines[0],
    'host,status,reason,inhibitors,warnings,roles,download_bytes,install_bytes,estimated_seconds,assessed_at,source,source_plan,report_truncated',
  );
  // The line break inside the quoted reason is kept; rows end with CRLF (RFC 4180).
  const seconds = hostSeconds({ downloadBytes: 100 * MiB, installBytes: 0, upgrades: 300, installs: 20 }, DEFAULT_ESTIMATE_MODEL);
  assert.equal(
    lines[1],
    `h-1,inhibited,"2 held: ""a"", b\nc",held-packages,,docker podman,${100 * MiB},${50 * MiB},${seconds},2026-12-06T10:00:00.000Z,plan,p-1,`,
  );
  assert.equal(lines[2], `h-2,not-assessed,"failed: precheck failed: EXEC: =HYPERLINK(""x"")",,,,,,,2026-12-06T10:00:00.000Z,plan,p-1,`);
  assert.match(lines[3] as string, /^h-3,ready,,,,,.*,reused,p-1,$/);
  assert.equal(lines.length, 5);
  assert.equal(lines[4], '');
  // A cell that starts a formula is prefixed with a quote.
  const formula = poolReportCsv({ hosts: [{ ...(r.hosts[0] as PoolHost), reason: '@SUM(A1)', notAssessed: null }] });
  assert.match(formula, /\r\nh-1,inhibited,'@SUM\(A1\),/);
});

test('a report cut short when stored is read up to the cut: findings and preview totals count, roles are missing', () => {
  const full = report(
    [
      { id: 'held-packages', inhibitor: true },
      { id: 'obsolete-packages', severity: 'low' },
    ],
    {
      // A full host's preview lists every package: the stored report is cut inside it.
      preview: {
        reachable: true,
        error: '',
        downloadBytes: 300 * MiB,
        installBytes: 20 * MiB,
        upgrades: 900,
        installs: 30,
        removals: [],
        changes: Array.from({ length: 1500 }, (_, i) => ({ name: `lib${i}`, arch: 'amd64', from: '1.0-1', to: '1.1-1', fate: 'upgraded' })),
      },
      roles: ['podman'],
    },
  );
  assert.ok(full.length > 64_000);
  const cut = full.slice(0, 64_000);
  const read = readAssessmentReport(cut);
  assert.ok(read.ok, read.ok ? '' : read.reason);
  assert.equal(read.report.truncated, true);
  assert.deepEqual(
    read.report.findings.map((f) => f.id),
    ['held-packages', 'obsolete-packages'],
  );
  assert.deepEqual(read.report.preview, { downloadBytes: 300 * MiB, installBytes: 20 * MiB, upgrades: 900, installs: 30 });
  assert.deepEqual(read.report.roles, []);
  const r = buildPoolReport([{ ...assessed('h-1', []), precheck: { ...(assessed('h-1', []).precheck as PrecheckRecord), report: cut } }]);
  assert.deepEqual([r.counts.inhibited, r.counts.truncated, r.hosts[0]?.reportTruncated], [1, 1, true]);
  assert.equal(poolReportCsv(r).split('\r\n')[1]?.endsWith(',yes'), true);
  // The whole report reads as it is.
  const whole = readAssessmentReport(full);
  assert.ok(whole.ok);
  assert.deepEqual([whole.report.truncated, whole.report.roles], [false, ['podman']]);
});

test('readAssessmentReport keeps what the pool report needs and defaults what older agents left out', () => {
  const read = readAssessmentReport(report([{ id: 'disk-space:/', inhibitor: true }], { factsDigest: 'sha256:1' }));
  assert.ok(read.ok);
  assert.deepEqual(read.report.findings[0], {
    id: 'disk-space:/',
    kind: 'disk-space',
    severity: 'high',
    inhibitor: true,
    title: 'disk-space:/ found',
    remediation: 'fix disk-space:/',
  });
  assert.deepEqual([read.report.roles, read.report.factsDigest], [[], 'sha256:1']);
});
