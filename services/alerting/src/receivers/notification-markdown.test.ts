import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedStep, notification, T0 } from './notification.testing.ts';
import { cutUtf8, cutUtf8Start, logTail, renderNotificationMarkdown, utf8Bytes } from './notification-markdown.ts';

test('UTF-8 cuts never split a character', () => {
  assert.equal(cutUtf8('告警abc', 4), '告');
  assert.equal(cutUtf8('告警abc', 5), '告');
  assert.equal(cutUtf8('告警abc', 6), '告警');
  assert.equal(cutUtf8('a😀', 4), 'a');
  assert.equal(cutUtf8('abc', 10), 'abc');
  assert.equal(cutUtf8Start('abc告警', 4), '警');
  assert.equal(cutUtf8Start('😀b', 2), 'b');
});

test('a log tail keeps the last whole lines that fit; one long line keeps its end', () => {
  assert.equal(logTail('a\nbb\nccc\n', 6), 'bb\nccc');
  assert.equal(logTail('a\nbb\nccc', 100), 'a\nbb\nccc');
  assert.equal(logTail('x'.repeat(50), 10), `…${'x'.repeat(7)}`);
});

test('zh-CN by default: every alert with host, plan, wave, step, failure code, log tail in a code block, link', () => {
  const r = renderNotificationMarkdown(notification([failedStep(1), failedStep(2)]), { locale: 'zh-CN', maxBytes: 20_000 });
  assert.equal(r.title, '【告警】StepFailed plan=p1（2 条）');
  assert.deepEqual([r.listed, r.omitted], [2, 0]);
  const first = r.text.split('**严重 · ')[1]!;
  for (const s of [
    '升级步骤失败: host-001**',
    '- 主机: host-001',
    '- 计划: p1 · 批次: 2 · 步骤: upgrade',
    '- 失败码: RPM_TRANSACTION_FAILED',
    '- 开始时间: 2026-12-06 11:59:00 UTC',
    '- [在控制台查看该步骤](https://console.example/plans/p1/hosts/host-001/steps/upgrade)',
    '日志末尾:\n```\n',
    '[29] dnf: error: 依赖冲突 package-29\n```',
  ]) {
    assert.ok(first.includes(s), `missing ${JSON.stringify(s)} in\n${first}`);
  }
  assert.ok(!r.text.includes('…另有'));
});

test('English with locale en; resolved alerts say when', () => {
  const a = failedStep(1, { status: 'resolved', endsAt: T0 });
  const r = renderNotificationMarkdown(notification([a]), { locale: 'en', maxBytes: 20_000 });
  assert.equal(r.title, '[RESOLVED:1] StepFailed plan=p1');
  assert.match(r.text, /- Host: host-001\n- Plan: p1 · Wave: 2 · Step: upgrade\n- Failure code: RPM_TRANSACTION_FAILED/);
  assert.match(r.text, /- Resolved: 2026-12-06 12:00:00 UTC/);
  assert.match(r.text, /\[Open the step in the console\]\(https:\/\/console\.example\/plans\/p1\/hosts\/host-001\/steps\/upgrade\)/);
  const acked = renderNotificationMarkdown(notification([failedStep(1)], { acknowledged: true }), { locale: 'en', maxBytes: 20_000 });
  assert.equal(acked.title, '[ACKNOWLEDGED:1] StepFailed plan=p1');
});

test('200 alerts in 4096 bytes: whole alerts while they fit, then a note counting the rest and those cut before', () => {
  const alerts = Array.from({ length: 200 }, (_, i) => failedStep(i));
  const r = renderNotificationMarkdown(notification(alerts, { truncatedAlerts: 10 }), { locale: 'zh-CN', maxBytes: 4096 });
  assert.ok(utf8Bytes(r.text) <= 4096, String(utf8Bytes(r.text)));
  assert.ok(r.listed >= 1 && r.listed < 200);
  assert.equal(r.omitted, 210 - r.listed);
  assert.ok(r.text.endsWith(`…另有 ${r.omitted} 条告警未列出\n`), r.text.slice(-80));
  assert.equal(r.title, '【告警】StepFailed plan=p1（210 条）');
});

test('one alert larger than the limit is still listed, with less of its log; a fence in the log cannot end the block', () => {
  const big = failedStep(1, { annotations: { summary: 's', log_tail: `${'长日志行 '.repeat(2000)}\n\`\`\`\nlast line` } });
  const r = renderNotificationMarkdown(notification([big, failedStep(2)]), { locale: 'zh-CN', maxBytes: 1200, logTailMaxBytes: 5000 });
  assert.ok(utf8Bytes(r.text) <= 1200);
  assert.equal(r.listed, 1);
  assert.match(r.text, /'''\nlast line\n```/);
  assert.ok(r.text.endsWith('…另有 1 条告警未列出\n'));
});

test('the last alert may use the room the note would have taken', () => {
  const n = notification([failedStep(1), failedStep(2)]);
  const full = renderNotificationMarkdown(n, { locale: 'zh-CN', maxBytes: 100_000 });
  const exact = renderNotificationMarkdown(n, { locale: 'zh-CN', maxBytes: utf8Bytes(full.text) });
  assert.deepEqual([exact.listed, exact.omitted, exact.text], [2, 0, full.text]);
  assert.equal(renderNotificationMarkdown(n, { locale: 'zh-CN', maxBytes: utf8Bytes(full.text) - 1 }).listed, 1);
});
