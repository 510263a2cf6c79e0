import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { DeliveryError } from '../errors.ts';
import { type CaptureServer, startCaptureServer } from './capture-server.testing.ts';
import { failedStep, notification, T0 } from './notification.testing.ts';
import { worstSeverity } from './notification-markdown.ts';
import { buildPagerDutyEvent, PagerDutyReceiver, pagerDutyDedupKey } from './pagerduty.receiver.ts';
import { parsePagerDutyWebhook, WebhookPayloadError, WebhookSignatureError } from './pagerduty-webhook.ts';

const opts = { routingKey: 'R0UT1NGKEY0000000000000000000000', locale: 'en' as const };

test('one group is one incident: the dedup key depends on receiver and group key only', () => {
  const k = pagerDutyDedupKey('pd', '{}:{plan="p1"}');
  assert.match(k, /^yx-[0-9a-f]{40}$/);
  assert.equal(pagerDutyDedupKey('pd', '{}:{plan="p1"}'), k);
  assert.notEqual(pagerDutyDedupKey('pd', '{}:{plan="p2"}'), k);
  assert.notEqual(pagerDutyDedupKey('pd2', '{}:{plan="p1"}'), k);
});

test('trigger: the Events v2 fields, severity from the worst firing alert, links to the steps, client Yixing', () => {
  const n = notification([failedStep(1, { labels: { ...failedStep(1).labels, severity: 'warning' } }), failedStep(2)]);
  const e = buildPagerDutyEvent(n, opts);
  assert.equal(e.event_action, 'trigger');
  assert.equal(e.routing_key, opts.routingKey);
  assert.equal(e.dedup_key, pagerDutyDedupKey('ops', n.groupKey));
  assert.equal(e.client, 'Yixing');
  assert.equal(e.client_url, 'https://console.example');
  const p = e.payload!;
  assert.equal(p.summary, '[FIRING:2] StepFailed plan=p1: 升级步骤失败: host-001');
  assert.equal(p.severity, 'critical');
  assert.equal(p.source, 'plan p1');
  assert.equal(p.timestamp, '2026-12-06T11:59:00.000Z');
  assert.deepEqual([p.component, p.group, p.class], ['upgrade', 'p1', 'StepFailed']);
  const details = p.custom_details as { alerts: { host: string; failure_code: string; log_tail: string; link: string }[] };
  assert.equal(details.alerts[0]!.host, 'host-001');
  assert.equal(details.alerts[0]!.failure_code, 'RPM_TRANSACTION_FAILED');
  assert.match(details.alerts[0]!.log_tail, /\[29\] dnf: error/);
  assert.deepEqual(e.links![0], {
    href: 'https://console.example/plans/p1/hosts/host-001/steps/upgrade',
    text: 'Open the step in the console: host-001',
  });
  assert.equal(buildPagerDutyEvent(n, { ...opts, severity: 'info' }).payload!.severity, 'info');
  assert.equal(worstSeverity([failedStep(1, { labels: { severity: 'info' } })]), 'info');
  assert.equal(worstSeverity([failedStep(1, { labels: {} })]), undefined);
});

test('a summary is at most 1024 characters; acknowledged sends acknowledge, resolved resolve, with no payload', () => {
  const long = failedStep(1, { annotations: { summary: '长'.repeat(3000) } });
  assert.equal([...buildPagerDutyEvent(notification([long]), opts).payload!.summary].length, 1024);
  const ack = buildPagerDutyEvent(notification([failedStep(1)], { acknowledged: true }), opts);
  assert.deepEqual(Object.keys(ack).sort(), ['dedup_key', 'event_action', 'routing_key']);
  assert.equal(ack.event_action, 'acknowledge');
  const res = buildPagerDutyEvent(notification([failedStep(1, { status: 'resolved', endsAt: T0 })]), opts);
  assert.equal(res.event_action, 'resolve');
  assert.equal(res.dedup_key, ack.dedup_key);
});

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer({ status: 202, body: { status: 'success', message: 'Event processed', dedup_key: 'x' } });
});
after(() => srv.close());

test('the receiver POSTs the event; 202 ok, 400 refused, 429 retried', async () => {
  const r = new PagerDutyReceiver('pd', { ...opts, url: `${srv.base}/v2/enqueue`, timeoutMs: 5000 });
  const n = notification([failedStep(1)], { receiver: 'pd' });
  await r.send(n, new AbortController().signal);
  const req = srv.requests.at(-1)!;
  assert.deepEqual([req.method, req.url], ['POST', '/v2/enqueue']);
  assert.deepEqual(JSON.parse(req.body), buildPagerDutyEvent(n, opts));
  srv.answers.push({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Length of summary'] } });
  await assert.rejects(
    r.send(n, new AbortController().signal),
    (e: DeliveryError) => e.code === 'RECEIVER_REFUSED' && /Event object is invalid/.test(e.message),
  );
  srv.answers.push({ status: 429, headers: { 'retry-after': '2' } });
  await assert.rejects(r.send(n, new AbortController().signal), (e: DeliveryError) => e.retryable && e.retryAfterMs === 2000);
});

// The webhook v3 shape, as PagerDuty documents it (trimmed to what is read, plus some noise).
function delivery(eventType: string, incidentKey: string | null = pagerDutyDedupKey('pd', '{}:{plan="p1"}')) {
  return JSON.stringify({
    event: {
      id: '01BZ3Q1R0LJ3Q1R0LJ3Q1R0LJ3',
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: '2026-12-06T12:05:00.000Z',
      agent: { html_url: 'https://acme.pagerduty.com/users/PLH1HKV', id: 'PLH1HKV', summary: '张伟', type: 'user_reference' },
      client: null,
      data: { id: 'PGR0VU2', type: 'incident', number: 2, status: 'acknowledged', incident_key: incidentKey, title: 'x' },
    },
  });
}
const sign = (body: string, secret: string) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;

test('webhook v3: a signed acknowledgement becomes acknowledge of the incident key, with who and when', () => {
  const body = delivery('incident.acknowledged');
  const r = parsePagerDutyWebhook(body, { 'x-pagerduty-signature': sign(body, 's3cret') }, ['s3cret'], T0);
  assert.deepEqual(r, {
    kind: 'action',
    action: 'acknowledge',
    dedupKey: pagerDutyDedupKey('pd', '{}:{plan="p1"}'),
    incidentId: 'PGR0VU2',
    actor: '张伟',
    at: Date.parse('2026-12-06T12:05:00.000Z'),
  });
  const resolved = delivery('incident.resolved');
  assert.equal(parsePagerDutyWebhook(resolved, { 'X-PagerDuty-Signature': sign(resolved, 's3cret') }, ['s3cret'], T0).kind, 'action');
  const un = delivery('incident.unacknowledged');
  const u = parsePagerDutyWebhook(un, { 'x-pagerduty-signature': sign(un, 's3cret') }, ['s3cret'], T0);
  assert.equal(u.kind === 'action' && u.action, 'unacknowledge');
});

test('webhook v3: several signatures (secret rotation) and several secrets; any match is enough', () => {
  const body = delivery('incident.resolved');
  const header = `${sign(body, 'old')}, ${sign(body, 'new')}`;
  const r = parsePagerDutyWebhook(body, { 'x-pagerduty-signature': header }, ['new'], T0);
  assert.equal(r.kind === 'action' && r.action, 'resolve');
  assert.equal(parsePagerDutyWebhook(body, { 'x-pagerduty-signature': sign(body, 'b') }, ['a', 'b'], T0).kind, 'action');
});

test('webhook v3: a bad, missing or unsecretted signature is a 401 error; a body changed after signing too', () => {
  const body = delivery('incident.acknowledged');
  const bad = (h: Record<string, string>, secrets = ['s3cret'], b = body) =>
    assert.throws(
      () => parsePagerDutyWebhook(b, h, secrets, T0),
      (e: WebhookSignatureError) => e instanceof WebhookSignatureError && e.httpStatus === 401 && e.code === 'WEBHOOK_SIGNATURE_INVALID',
    );
  bad({ 'x-pagerduty-signature': sign(body, 'other') });
  bad({});
  bad({ 'x-pagerduty-signature': 'v1=zz' });
  bad({ 'x-pagerduty-signature': sign(body, 's3cret') }, []);
  bad({ 'x-pagerduty-signature': sign(body, 's3cret') }, ['s3cret'], body.replace('张伟', '李四'));
});

test('webhook v3: other events and incidents without our key are ignored; a signed non-event is a 400 error', () => {
  const trig = delivery('incident.triggered');
  assert.deepEqual(parsePagerDutyWebhook(trig, { 'x-pagerduty-signature': sign(trig, 'k') }, ['k'], T0), {
    kind: 'ignored',
    eventType: 'incident.triggered',
  });
  const manual = delivery('incident.acknowledged', null);
  assert.equal(parsePagerDutyWebhook(manual, { 'x-pagerduty-signature': sign(manual, 'k') }, ['k'], T0).kind, 'ignored');
  for (const b of ['not json', '{"event":{}}']) {
    assert.throws(() => parsePagerDutyWebhook(b, { 'x-pagerduty-signature': sign(b, 'k') }, ['k'], T0), WebhookPayloadError);
  }
});
