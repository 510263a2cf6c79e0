// Alerts pushed as Prometheus pushes them (POST /api/v2/alerts) go through the alerting
// service's one pipeline: grouped into one notification per group whatever request
// brought each alert, silenced and told again when the silence ends, inhibited by another
// pushed alert, acknowledged for good however often they are sent again; and only from
// the intake identity. Real NATS, FerretDB, the service as a process, a real webhook.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CaptureServer, startCaptureServer } from '@yixing/alerting/internal';
import { type AlertingProcess, alertingApi, startAlerting } from '../fixtures/alerting.ts';
import { bearer, testIdentity } from '../fixtures/api-access.ts';
import { type Stack, startStack } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: Stack;
let alerting: AlertingProcess;
let webhook: CaptureServer;

before(async () => {
  stack = await startStack('alerting-intake');
  webhook = await startCaptureServer({ status: 200, body: '' });
  alerting = await startAlerting(
    stack,
    {
      route: { receiver: 'oncall', group_by: ['alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'oncall', webhook_configs: [{ url: `${webhook.base}/hook` }] }],
      inhibit_rules: [{ source_matchers: ['alertname="YixingSchedulerDown"'], target_matchers: ['alertname="YixingPlanStalled"'] }],
    },
    'alerting',
    { YX_ALERTING_INGEST_IDENTITIES: testIdentity('viewer') },
  );
});

after(async () => {
  await alerting?.proc.kill('SIGTERM');
  await webhook?.close();
  await stack?.stop();
});

interface WebhookBody {
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
}

const notes = (alertname: string): WebhookBody[] =>
  webhook.requests.map((r) => JSON.parse(r.body) as WebhookBody).filter((b) => b.groupLabels.alertname === alertname);

/**
 * A firing alert as Prometheus sends it, ending `forMs` from now unless sent again; started
 * now, so that its group waits group_wait (1 s) for the rest of a test's pushes.
 */
const firing = (alertname: string, labels: Record<string, string> = {}, forMs = 600_000) => ({
  labels: { alertname, severity: 'warning', ...labels },
  annotations: { summary: `${alertname} fires` },
  startsAt: new Date().toISOString(),
  endsAt: new Date(Date.now() + forMs).toISOString(),
  generatorURL: 'http://prometheus.test:9090/graph?g0.expr=vector%281%29',
});

/** The same alert sent resolved: its rule stopped firing a second ago. */
const resolved = (alert: ReturnType<typeof firing>) => ({
  ...alert,
  startsAt: new Date(Date.now() - 60_000).toISOString(),
  endsAt: new Date(Date.now() - 1000).toISOString(),
});

async function push(alerts: object[], role: 'viewer' | 'operator' = 'viewer'): Promise<Response> {
  return await fetch(new URL('/api/v2/alerts', alerting.api), {
    method: 'POST',
    headers: { ...bearer(role), 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
}

async function pushed(alerts: object[]): Promise<void> {
  const res = await push(alerts);
  assert.equal(res.status, 200, await res.text());
}

async function notified(alertname: string, n: number): Promise<WebhookBody[]> {
  return await waitUntil(
    async () => {
      const got = notes(alertname);
      return { done: got.length >= n, value: got, state: got.map((b) => `${b.status}:${b.alerts.length}`).join(',') };
    },
    { what: `${n} notification(s) of ${alertname}` },
  );
}

interface AlertView {
  fingerprint: string;
  acknowledged: boolean;
  status: string;
}

const listed = async (alertname: string): Promise<AlertView[]> =>
  (await alertingApi<{ items: AlertView[] }>(alerting.api, 'GET', `/v1/alerts?alertname=${alertname}`, undefined, 'viewer')).items;

/** Enough dispatcher ticks (100 ms) and group intervals (1 s) for anything due to have gone out. */
const settle = () => sleep(3_000);

test('alerts of one group pushed in separate requests are one notification', async () => {
  await pushed([firing('YixingEventLag', { instance: 'a' }), firing('YixingEventLag', { instance: 'b' })]);
  await pushed([firing('YixingEventLag', { instance: 'c' })]);
  const [first] = await notified('YixingEventLag', 1);
  await settle();
  await pushed([firing('YixingEventLag', { instance: 'a' }), firing('YixingEventLag', { instance: 'b' })]); // re-sent
  await settle();
  const all = notes('YixingEventLag');
  assert.equal(all.length, 1, 'one notification for the group, re-sends included');
  assert.deepEqual(first?.alerts.map((a) => a.labels.instance).sort(), ['a', 'b', 'c']);
});

test('a silenced pushed alert is held back, and told once its silence ends', async () => {
  const silence = await alertingApi<{ id: string }>(alerting.api, 'POST', '/v1/silences', {
    matchers: '{alertname="YixingHeartbeatLoss"}',
    duration: '1h',
    comment: 'the network team is on it',
  });
  await pushed([firing('YixingHeartbeatLoss')]);
  await settle();
  assert.deepEqual(notes('YixingHeartbeatLoss'), [], 'silenced');
  await alertingApi(alerting.api, 'DELETE', `/v1/silences/${silence.id}`);
  const [told] = await notified('YixingHeartbeatLoss', 1);
  assert.equal(told?.status, 'firing');
});

test('a pushed alert inhibits another pushed alert', async () => {
  await pushed([firing('YixingSchedulerDown'), firing('YixingPlanStalled', { plan: 'p1' })]);
  await notified('YixingSchedulerDown', 1);
  await settle();
  assert.deepEqual(notes('YixingPlanStalled'), [], 'inhibited while the scheduler is down');
  await pushed([resolved(firing('YixingSchedulerDown'))]);
  const [told] = await notified('YixingPlanStalled', 1);
  assert.equal(told?.status, 'firing', 'told once the inhibiting alert resolved');
});

test('an acknowledgement holds however often the alert is sent again; a resolved one does not come back', async () => {
  await pushed([firing('YixingBackupFailures')]);
  await notified('YixingBackupFailures', 1);
  const [alert] = await listed('YixingBackupFailures');
  assert.ok(alert);
  await alertingApi(alerting.api, 'POST', `/v1/alerts/${alert.fingerprint}/ack`);
  for (let i = 0; i < 3; i++) await pushed([firing('YixingBackupFailures')]);
  const [resent] = await listed('YixingBackupFailures');
  assert.equal(resent?.acknowledged, true, 're-sends are the same episode');
  await pushed([resolved(firing('YixingBackupFailures'))]);
  await waitUntil(
    async () => {
      const statuses = notes('YixingBackupFailures').map((b) => b.status);
      return { done: statuses.at(-1) === 'resolved', value: null, state: statuses.join(',') };
    },
    { what: 'the resolution told' },
  );
  assert.deepEqual(await listed('YixingBackupFailures'), [], 'no longer firing');
});

test('an alert not sent again expires at its endsAt; sent again, it is a new episode that no old acknowledgement covers', async () => {
  const lost = firing('YixingEventLagLost', {}, 1500);
  await pushed([lost]);
  await notified('YixingEventLagLost', 1);
  const [alert] = await listed('YixingEventLagLost');
  assert.ok(alert);
  await alertingApi(alerting.api, 'POST', `/v1/alerts/${alert.fingerprint}/ack`);
  await waitUntil(
    async () => {
      const statuses = notes('YixingEventLagLost').map((b) => b.status);
      return { done: statuses.at(-1) === 'resolved', value: null, state: statuses.join(',') };
    },
    { what: 'the expiry told' },
  );
  const expired = await alertingApi<{ resolvedBy: string }>(alerting.api, 'GET', `/v1/alerts/${alert.fingerprint}`, undefined, 'viewer');
  assert.equal(expired.resolvedBy, 'expired');
  // Its Prometheus is back and sends it again, with the start it always had.
  await pushed([{ ...lost, endsAt: new Date(Date.now() + 600_000).toISOString() }]);
  const [again] = await listed('YixingEventLagLost');
  assert.deepEqual([again?.status, again?.acknowledged], ['firing', false]);
});

test('only the intake identity may push: an operator is refused and nothing fires', async () => {
  const res = await push([firing('YixingFake')], 'operator');
  assert.equal(res.status, 403);
  const body = (await res.json()) as { error: { needs: string } };
  assert.equal(body.error.needs, 'ingest');
  const bad = await push([{ labels: { alertname: 'StepFailed', plan: 'p1', host: 'h1' } }]);
  assert.equal(bad.status, 400);
  assert.deepEqual(await listed('YixingFake'), []);
});
