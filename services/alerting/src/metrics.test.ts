// The alerting metrics as Prometheus reads them: firing alerts counted per severity and
// alert name, a series that stops firing reads 0, and each metric has its labels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRegistry } from '@yixing/common';
import { alertingMetrics, firingCounts } from './metrics.ts';

const alert = (alertname: string, severity: string) => ({ labels: { alertname, severity } });

test('firing alerts are counted per severity and alert name', () => {
  const counts = [
    ...firingCounts([alert('StepFailed', 'warning'), alert('StepFailed', 'warning'), alert('RollbackFailed', 'critical')]).values(),
  ];
  assert.deepEqual(counts, [
    { severity: 'warning', alertname: 'StepFailed', count: 2 },
    { severity: 'critical', alertname: 'RollbackFailed', count: 1 },
  ]);
});

test('yx_alerts_firing follows what fires; a series that stops firing reads 0', async () => {
  const registry = createRegistry('alerting', { processMetrics: false });
  const m = alertingMetrics(registry);
  m.showFiring([alert('StepFailed', 'warning'), alert('StepFailed', 'warning'), alert('RollbackFailed', 'critical')]);
  m.showFiring([alert('StepFailed', 'warning')]);
  const text = await registry.metrics();
  assert.match(text, /^yx_alerts_firing\{severity="warning",alertname="StepFailed",service="alerting"\} 1$/m);
  assert.match(text, /^yx_alerts_firing\{severity="critical",alertname="RollbackFailed",service="alerting"\} 0$/m);
});

test('notifications, delivery latency and events carry their labels', async () => {
  const registry = createRegistry('alerting', { processMetrics: false });
  const m = alertingMetrics(registry);
  m.notifications.inc({ receiver: 'pager', kind: 'firing', result: 'retried' });
  m.notifications.inc({ receiver: 'pager', kind: 'firing', result: 'delivered' });
  m.deliverySeconds.observe({ receiver: 'pager', kind: 'firing' }, 1.5);
  m.events.inc({ source: 'hostrun', outcome: 'applied' });
  const text = await registry.metrics();
  assert.match(text, /^yx_alert_notifications_total\{receiver="pager",kind="firing",result="retried",service="alerting"\} 1$/m);
  assert.match(text, /^yx_alert_delivery_seconds_bucket\{le="2.5",service="alerting",receiver="pager",kind="firing"\} 1$/m);
  assert.match(text, /^yx_alert_events_total\{source="hostrun",outcome="applied",service="alerting"\} 1$/m);
});
