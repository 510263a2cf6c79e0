import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emailThreading, renderEmail } from './email-render.ts';
import { failedStep, notification } from './notification.testing.ts';

const group = () => notification([failedStep(1), failedStep(2), failedStep(3)], { groupLabels: { plan: 'p1', wave: '2' } });

test("the subject is Alertmanager's in English and the same facts in Chinese", () => {
  assert.equal(renderEmail(group(), 'en').subject, '[FIRING:3] StepFailed plan=p1 wave=2');
  assert.equal(renderEmail(group()).subject, '【告警】StepFailed plan=p1 wave=2（3 条）');
  const resolved = notification([failedStep(1, { status: 'resolved', endsAt: Date.parse('2026-12-06T12:05:00Z') })]);
  assert.equal(renderEmail(resolved, 'en').subject, '[RESOLVED:1] StepFailed plan=p1');
  assert.equal(renderEmail(notification([failedStep(1)], { acknowledged: true }), 'en').subject, '[ACKNOWLEDGED:1] StepFailed plan=p1');
});

test('each alert shows host, plan, wave, step, failure code, the log tail and the link to its step', () => {
  const { text, html } = renderEmail(group(), 'en');
  for (const body of [text, html]) {
    for (const i of [1, 2, 3]) assert.match(body, new RegExp(`host-00${i}`));
    assert.match(body, /Plan/);
    assert.match(body, /Wave/);
    assert.match(body, /upgrade/);
    assert.match(body, /RPM_TRANSACTION_FAILED/);
    assert.match(body, /\[29\] dnf: error: 依赖冲突 package-29/, 'the last log line');
    assert.ok(body.includes('https://console.example/plans/p1/hosts/host-002/steps/upgrade'));
  }
  assert.match(html, /<a href="https:\/\/console\.example\/plans\/p1\/hosts\/host-001\/steps\/upgrade">Open the step in the console<\/a>/);
  assert.match(renderEmail(group()).text, /主机: host-001/);
  assert.match(renderEmail(group()).text, /日志末尾:/);
});

test('the HTML escapes the log and the labels, and links only http(s)', () => {
  const evil = failedStep(1, {
    labels: { ...failedStep(1).labels, host: '<img src=x onerror=alert(1)>' },
    annotations: { log_tail: 'if a < b && c > d: print("x")\n</pre><script>alert(1)</script>' },
    link: 'javascript:alert(1)',
  });
  const { html } = renderEmail(notification([evil]), 'en');
  assert.ok(!html.includes('<script>') && !html.includes('<img'), html);
  assert.match(html, /<pre [^>]*>if a &lt; b &amp;&amp; c &gt; d: print\(&quot;x&quot;\)\n&lt;\/pre&gt;&lt;script&gt;/);
  assert.ok(!html.includes('href="javascript:'), 'no javascript: anchor');
});

test('a long log keeps its last lines, and left-out alerts are counted', () => {
  const long = failedStep(1, { annotations: { log_tail: Array.from({ length: 5000 }, (_, k) => `line ${k}`).join('\n') } });
  const { text } = renderEmail(notification([long], { truncatedAlerts: 4 }), 'en');
  assert.match(text, /line 4999$/m);
  assert.doesNotMatch(text, /line 0$/m);
  assert.match(text, /and 4 more alerts not listed/);
  assert.ok(text.length < 8000, `text of ${text.length} characters`);
});

test('threading: one thread root per receiver and group, one Message-ID per notification', () => {
  const a = emailThreading({ id: 'ops|g1|1', receiver: 'ops', groupKey: 'g1' }, 'alerts@yixing.example');
  const b = emailThreading({ id: 'ops|g1|2', receiver: 'ops', groupKey: 'g1' }, 'alerts@yixing.example');
  const other = emailThreading({ id: 'ops|g2|1', receiver: 'ops', groupKey: 'g2' }, 'alerts@yixing.example');
  assert.equal(a.references, b.references);
  assert.notEqual(a.references, other.references);
  assert.notEqual(a.messageId, b.messageId);
  assert.deepEqual(
    a,
    emailThreading({ id: 'ops|g1|1', receiver: 'ops', groupKey: 'g1' }, 'alerts@yixing.example'),
    'a retry re-sends the same id',
  );
  assert.match(a.messageId, /^<yx-alert\.[0-9a-f]{32}@yixing\.example>$/);
});
