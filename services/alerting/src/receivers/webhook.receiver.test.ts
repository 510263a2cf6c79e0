import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DeliveryError } from '../errors.ts';
import { AlertmanagerReceiver, alertmanagerAlertsUrl, buildPostableAlerts } from './alertmanager.receiver.ts';
import { type CaptureServer, startCaptureServer } from './capture-server.testing.ts';
import { failedStep, notification, T0 } from './notification.testing.ts';
import { buildWebhookPayload, WebhookReceiver } from './webhook.receiver.ts';

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer();
});
after(() => srv.close());
const signal = new AbortController().signal;

test('webhook v4: the documented fields, endsAt Go zero time while firing, generatorURL the step link', () => {
  const n = notification([failedStep(1), failedStep(2, { status: 'resolved', endsAt: T0 })]);
  const p = buildWebhookPayload(n);
  assert.deepEqual(Object.keys(p).sort(), [
    'alerts',
    'commonAnnotations',
    'commonLabels',
    'externalURL',
    'groupKey',
    'groupLabels',
    'receiver',
    'status',
    'truncatedAlerts',
    'version',
  ]);
  assert.equal(p.version, '4');
  assert.equal(p.groupKey, '{}/{severity="critical"}:{plan="p1"}');
  assert.equal(p.externalURL, 'https://console.example');
  assert.deepEqual(p.alerts[0], {
    status: 'firing',
    labels: failedStep(1).labels,
    annotations: failedStep(1).annotations,
    startsAt: '2026-12-06T11:59:00.000Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'https://console.example/plans/p1/hosts/host-001/steps/upgrade',
    fingerprint: failedStep(1).fingerprint,
  });
  assert.equal(p.alerts[1]!.endsAt, '2026-12-06T12:00:00.000Z');
  assert.equal(p.alerts[1]!.status, 'resolved');
});

test('webhook v4: max_alerts keeps the first alerts and adds the rest to truncatedAlerts', () => {
  const p = buildWebhookPayload(notification([failedStep(1), failedStep(2), failedStep(3)], { truncatedAlerts: 4 }), 2);
  assert.deepEqual([p.alerts.length, p.truncatedAlerts], [2, 5]);
  // As Alertmanager: status and common labels and annotations of the alerts kept.
  const other = failedStep(3, { labels: { ...failedStep(3).labels, wave: '3' }, status: 'resolved', endsAt: T0 });
  const group = notification([failedStep(1), failedStep(2), other], { commonLabels: { alertname: 'StepFailed', plan: 'p1' } });
  const cut = buildWebhookPayload(group, 2);
  assert.equal(cut.commonLabels.wave, '2', 'both kept alerts are in wave 2');
  assert.equal(cut.commonAnnotations.log_tail, failedStep(1).annotations.log_tail);
  assert.equal(buildWebhookPayload(group).commonLabels.wave, undefined, 'uncut: the common labels of the whole notification');
  assert.equal(buildWebhookPayload(notification([other, failedStep(1)]), 1).status, 'resolved', 'the one kept is resolved');
});

test('the webhook receiver POSTs the payload with notification.id as Idempotency-Key and the configured headers', async () => {
  const r = new WebhookReceiver('hooks', {
    url: `${srv.base}/alerts`,
    maxAlerts: 0,
    httpHeaders: { authorization: 'Bearer t' },
    timeoutMs: 5000,
  });
  const n = notification([failedStep(1)]);
  await r.send(n, signal);
  const req = srv.requests.at(-1)!;
  assert.equal(req.url, '/alerts');
  assert.equal(req.headers['idempotency-key'], n.id);
  assert.equal(req.headers.authorization, 'Bearer t');
  assert.deepEqual(JSON.parse(req.body), buildWebhookPayload(n));
  srv.answers.push({ status: 500 });
  await assert.rejects(r.send(n, signal), (e: DeliveryError) => e.retryable && e.code === 'RECEIVER_UNAVAILABLE');
});

test('Alertmanager API v2: firing alerts end a resolve timeout after they are sent (never before the flush), resolved at their end', () => {
  const n = notification([failedStep(1), failedStep(2, { status: 'resolved', endsAt: T0 - 5000 })]);
  const alerts = buildPostableAlerts(n, 15 * 60_000);
  assert.deepEqual(alerts[0], {
    labels: failedStep(1).labels,
    annotations: failedStep(1).annotations,
    startsAt: '2026-12-06T11:59:00.000Z',
    endsAt: '2026-12-06T12:15:00.000Z',
    generatorURL: 'https://console.example/plans/p1/hosts/host-001/steps/upgrade',
  });
  assert.equal(alerts[1]!.endsAt, '2026-12-06T11:59:55.000Z');
  const late = buildPostableAlerts(n, 15 * 60_000, T0 + 20 * 60_000);
  assert.deepEqual(
    late.map((a) => a.endsAt),
    ['2026-12-06T12:35:00.000Z', '2026-12-06T11:59:55.000Z'],
    'sent 20 min after its flush: firing still ends a resolve timeout from now, resolved at its end',
  );
  assert.equal(buildPostableAlerts(n, 15 * 60_000, T0 - 1000)[0]!.endsAt, '2026-12-06T12:15:00.000Z', 'never before the flush');
  assert.equal(alertmanagerAlertsUrl('http://am:9093/'), 'http://am:9093/api/v2/alerts');
  assert.equal(alertmanagerAlertsUrl('http://h/am'), 'http://h/am/api/v2/alerts');
});

test('the Alertmanager receiver POSTs /api/v2/alerts and asks a refresh every third of the resolve timeout', async () => {
  const r = new AlertmanagerReceiver('am', { url: `${srv.base}/`, resolveTimeoutMs: 15 * 60_000, timeoutMs: 5000 }, () => T0);
  assert.equal(r.refreshMs, 5 * 60_000);
  const n = notification([failedStep(1)]);
  await r.send(n, signal);
  const req = srv.requests.at(-1)!;
  assert.deepEqual([req.method, req.url], ['POST', '/api/v2/alerts']);
  assert.deepEqual(JSON.parse(req.body), buildPostableAlerts(n, 15 * 60_000));
  srv.answers.push({ status: 400, body: { code: 400, message: 'labels empty' } });
  await assert.rejects(
    r.send(n, signal),
    (e: DeliveryError) => !e.retryable && e.code === 'RECEIVER_REFUSED' && /labels empty/.test(e.message),
  );
});
