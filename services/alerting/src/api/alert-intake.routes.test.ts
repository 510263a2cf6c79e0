// POST /api/v2/alerts (Alertmanager's intake, for Prometheus) in front of the real intake
// on a recording store: who may send, what is refused (all or none, every problem named),
// and what an accepted request writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRegistry, silentLogger } from '@yixing/common';
import { fixedApiAccess, newApiToken } from '@yixing/common/http';
import { AlertIntake } from '../ingest/alert-intake.service.ts';
import { POSTED_LIMITS } from '../ingest/postable-alerts.ts';
import { alertingMetrics } from '../metrics.ts';
import type { AlertStore, FireInput } from '../store/alert.store.ts';
import { buildAlertingApi } from './alerting.routes.ts';

const NOW = Date.parse('2026-12-06T22:00:00Z');
const tokens = { prometheus: newApiToken(), alice: newApiToken() };
const access = fixedApiAccess([
  { token: tokens.prometheus, name: 'prometheus', role: 'viewer' },
  { token: tokens.alice, name: 'alice', role: 'admin' },
]);

async function intakeApi() {
  const writes: (FireInput | { resolve: string; at: number; by: string })[] = [];
  const store = {
    async fire(input: FireInput) {
      writes.push(input);
    },
    async resolveAt(fingerprint: string, at: number, by: string) {
      writes.push({ resolve: fingerprint, at, by });
      return true;
    },
  } as unknown as AlertStore;
  const registry = createRegistry('intake-test', { processMetrics: false });
  const intake = new AlertIntake({
    alerts: store,
    metrics: alertingMetrics(registry),
    log: silentLogger(),
    clock: () => NOW,
    resolveTimeoutMs: 300_000,
  });
  const app = await buildAlertingApi({
    alerts: store,
    silences: {} as never,
    registry,
    access,
    consoleUrl: 'https://console.example',
    clock: () => NOW,
    intake: { identities: ['prometheus'], take: (posted, by) => intake.take(posted, by) },
  });
  const post = (payload: unknown, who: keyof typeof tokens = 'prometheus') =>
    app.inject({ method: 'POST', url: '/api/v2/alerts', headers: { authorization: `Bearer ${tokens[who]}` }, payload: payload as object });
  return { post, writes };
}

const alert = (name: string, endsAt: number) => ({
  labels: { alertname: name, severity: 'critical', job: 'yixing-backup' },
  annotations: { summary: `${name} fires` },
  startsAt: '2026-12-06T21:55:00Z',
  endsAt: new Date(endsAt).toISOString(),
  generatorURL: 'http://prometheus.example:9090/graph?g0.expr=up',
});

test('alerts as Prometheus sends them fire until their endsAt, or resolve, as of their arrival', async () => {
  const { post, writes } = await intakeApi();
  const res = await post([alert('YixingBackupServiceDown', NOW + 240_000), alert('YixingSchedulerDown', NOW - 1000)]);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { firing: 1, resolved: 1 });
  assert.equal(writes.length, 2);
  const [fired, resolved] = writes as [FireInput, { resolve: string; at: number; by: string }];
  assert.equal(fired.at, NOW);
  assert.equal(fired.startsAt, Date.parse('2026-12-06T21:55:00Z'));
  assert.equal(fired.expiresAt, NOW + 240_000);
  assert.equal(fired.generatorUrl, 'http://prometheus.example:9090/graph?g0.expr=up');
  assert.deepEqual({ at: resolved.at, by: resolved.by }, { at: NOW, by: 'prometheus' });
});

test('only the intake identities may push, whatever their role; the body is not even read', async () => {
  const { post, writes } = await intakeApi();
  const res = await post([alert('Fake', NOW + 1000)], 'alice');
  assert.equal(res.statusCode, 403, res.body);
  assert.equal(res.json().error.needs, 'ingest');
  assert.match(res.json().error.message, /alice may not push alerts; YX_ALERTING_INGEST_IDENTITIES names who may \(prometheus\)/);
  assert.deepEqual(writes, []);
});

test('a body of the wrong shape is a 400 naming the field, and nothing is written', async () => {
  const { post, writes } = await intakeApi();
  const cases: [unknown, string][] = [
    [{ labels: { alertname: 'A' } }, 'body'],
    [[{ annotations: {} }], 'body[0].labels'],
    [[{ labels: {} }], 'body[0].labels'],
    [[{ labels: { alertname: 7 } }], 'body[0].labels.alertname'],
    [[{ labels: { alertname: 'A' }, status: 'firing' }], 'body[0].status'],
    [Array.from({ length: POSTED_LIMITS.alerts + 1 }, () => ({ labels: { alertname: 'A' } })), 'body'],
  ];
  for (const [payload, field] of cases) {
    const res = await post(payload);
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(0, 80)}: ${res.body}`);
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    assert.equal(res.json().error.field, field, res.body);
  }
  assert.deepEqual(writes, []);
});

test('one bad alert refuses the whole request, naming every problem; nothing is written', async () => {
  const { post, writes } = await intakeApi();
  const res = await post([alert('Good', NOW + 1000), { labels: { job: 'x' }, endsAt: 'soon' }]);
  assert.equal(res.statusCode, 400, res.body);
  const error = res.json().error;
  assert.equal(error.field, 'body[1].labels.alertname');
  assert.deepEqual(
    error.problems.map((p: { field: string }) => p.field),
    ['body[1].labels.alertname', 'body[1].endsAt'],
  );
  assert.deepEqual(writes, []);
});
