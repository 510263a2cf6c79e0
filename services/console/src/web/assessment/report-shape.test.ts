import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  counted,
  formatBytes,
  formatCount,
  formatDuration,
  groupKey,
  mibPerSecond,
  namesAll,
  nextPollMs,
  type ReportOverview,
  statusCounts,
} from './report-shape.ts';

const counts: ReportOverview['counts'] = { hosts: 30, ready: 5, warnings: 22, inhibited: 3, notAssessed: 0, reused: 0, truncated: 0 };

test('the four statuses in order, each with its count and whole-percent share', () => {
  assert.deepEqual(statusCounts(counts), [
    { status: 'ready', count: 5, percent: 17 },
    { status: 'warnings', count: 22, percent: 73 },
    { status: 'inhibited', count: 3, percent: 10 },
    { status: 'notAssessed', count: 0, percent: 0 },
  ]);
  assert.deepEqual(
    statusCounts({ ...counts, hosts: 0, ready: 0, warnings: 0, inhibited: 0 }).map((s) => s.percent),
    [0, 0, 0, 0],
  );
});

test('a group names all its hosts or only the first of them', () => {
  assert.equal(namesAll({ hostCount: 2, hosts: ['a', 'b'] }), true);
  assert.equal(namesAll({ hostCount: 22, hosts: Array.from({ length: 20 }, (_, i) => `h${i}`) }), false);
});

test('a group is keyed by what it is', () => {
  const kind = { kind: 'held-packages', severity: 'high' as const, title: 't', remediation: 'r', hostCount: 2, hosts: ['a', 'b'] };
  assert.equal(groupKey.inhibitor(kind), 'inhibitor:held-packages');
  assert.equal(groupKey.warning(kind), 'warning:held-packages');
  assert.equal(groupKey.notAssessed('never'), 'notAssessed:never');
});

test('asked again while hosts wait for their precheck, not once all are assessed', () => {
  assert.equal(nextPollMs({ notAssessed: [{ reason: 'pending', hostCount: 3, hosts: ['a'] }] }), 5000);
  assert.equal(nextPollMs({ notAssessed: [{ reason: 'never', hostCount: 3, hosts: ['a'] }] }), null);
  assert.equal(nextPollMs({ notAssessed: [] }), null);
});

test('sizes in binary units, the number in the reader’s language, growth signed', () => {
  assert.equal(formatBytes(0, 'en'), '0 B');
  assert.equal(formatBytes(1023, 'en'), '1,023 B');
  assert.equal(formatBytes(1536, 'en'), '1.5 KiB');
  assert.equal(formatBytes(40 * 1024 * 1024, 'zh-CN'), '40 MiB');
  assert.equal(formatBytes(5 * 1024 ** 3 + 300 * 1024 ** 2, 'en'), '5.3 GiB');
  assert.equal(formatBytes(90 * 1024 * 1024, 'en', true), '+90 MiB');
  assert.equal(formatBytes(-2 * 1024 * 1024, 'en', true), '-2 MiB');
  assert.equal(formatBytes(2 * 1024 ** 6, 'en'), '2,048 PiB');
});

test('durations in their two largest units, in the reader’s language', () => {
  assert.equal(formatDuration(0, 'en'), '0 sec');
  assert.equal(formatDuration(45, 'en'), '45 sec');
  assert.equal(formatDuration(185, 'en'), '3 min 5 sec');
  assert.equal(formatDuration(3600, 'en'), '1 hr');
  assert.equal(formatDuration(3 * 3600 + 25 * 60 + 9, 'en'), '3 hr 25 min');
  assert.equal(formatDuration(90_061, 'en'), '1 day 1 hr');
  assert.equal(formatDuration(3 * 3600 + 25 * 60, 'zh-CN'), '3小时25分钟');
  assert.equal(formatDuration(59.6, 'zh-CN'), '1分钟');
});

test('counts grouped as the reader writes them; throughput in MiB/s', () => {
  assert.equal(formatCount(123456, 'en'), '123,456');
  assert.equal(formatCount(123456, 'zh-CN'), '123,456');
  assert.deepEqual(counted(12345, 'en'), { count: 12345, n: '12,345' });
  assert.equal(mibPerSecond(20 * 1024 * 1024), 20);
  assert.equal(mibPerSecond(1.5 * 1024 * 1024), 1.5);
});
