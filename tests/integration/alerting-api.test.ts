// The alerting API against a real FerretDB, driven with inject(): alerts listed by state
// and labels a page at a time, acknowledged and resolved as the caller (the store says
// who), roles enforced, silences refused whole with every problem named and nothing
// stored, expired early, and PagerDuty's webhook taken only with its signature; and the
// yx alerts / yx silences commands against it over HTTP.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AlertStore, alertingMetrics, buildAlertingApi, SilenceStore } from '@yixing/alerting';
import { connectDb, createRegistry } from '@yixing/common';
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mongoose';
import { bearer, testApiAccess, testIdentity } from '../fixtures/api-access.ts';
import { runYx } from '../fixtures/cli-io.ts';
import { assertDashboardsServed } from '../fixtures/dashboards.ts';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';

const T0 = Date.UTC(2026, 11, 6, 8, 0, 0);
const CONSOLE = 'https://console.yixing.example';
const PD_SECRET = 'pd-webhook-secret-1';

let mongo: MongoFixture;
let conn: Connection;
let alerts: AlertStore;
let silences: SilenceStore;
let api: FastifyInstance;
let now = T0 + 3_600_000;
const clock = (): number => now;
const pdActions: { action: string; dedupKey: string; actor: string }[] = [];

/** Fingerprints in the order the alerts started: fp(0) first. */
const fp = (i: number): string => `a${i.toString(16).padStart(15, '0')}`;
const hostOf = (i: number): string => `h-${i}`;

before(async () => {
  mongo = await startMongo();
  conn = await connectDb({ uri: mongo.uri('alerting'), appName: 'alerting-api-test' });
  alerts = new AlertStore(conn, clock);
  silences = new SilenceStore(conn, clock);
  const registry = createRegistry('alerting', { processMetrics: false });
  alertingMetrics(registry);
  api = await buildAlertingApi({
    alerts,
    silences,
    registry,
    access: testApiAccess(),
    consoleUrl: CONSOLE,
    clock,
    pagerDuty: {
      secrets: [PD_SECRET],
      onAction: async (a) => {
        pdActions.push(a);
      },
    },
  });
  // Seven step failures a minute apart in plan p1 (h-5 and h-6 in p2), the first two resolved since.
  for (let i = 0; i < 7; i++) {
    const plan = i >= 5 ? 'p2' : 'p1';
    await alerts.fire({
      fingerprint: fp(i),
      labels: { alertname: 'StepFailed', severity: i === 3 ? 'critical' : 'warning', plan, host: hostOf(i), step: 'upgrade' },
      annotations: { summary: `upgrade failed on ${hostOf(i)}` },
      path: `/plans/${plan}/hosts/${hostOf(i)}/steps/upgrade`,
      at: T0 + i * 60_000,
    });
  }
  for (const i of [0, 1]) await alerts.resolveWhere(['StepFailed'], { host: hostOf(i) }, T0 + 30 * 60_000);
});

after(async () => {
  await api?.close();
  await conn?.close();
  await mongo?.stop();
});

async function call(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  role?: 'viewer' | 'operator' | 'admin',
  payload?: Record<string, unknown>,
) {
  const res = await api.inject({ method, url, headers: role ? bearer(role) : {}, ...(payload === undefined ? {} : { payload }) });
  return { status: res.statusCode, body: res.json() };
}

/** Every page of a list from its first URL, and the page sizes seen. */
async function allPages(url: string): Promise<{ items: { fingerprint: string }[]; sizes: number[] }> {
  const items: { fingerprint: string }[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const res = await call('GET', `${url}${cursor ? `&cursor=${cursor}` : ''}`, 'viewer');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    items.push(...res.body.items);
    sizes.push(res.body.items.length);
    cursor = res.body.nextCursor;
  } while (cursor);
  return { items, sizes };
}

test('firing alerts by default, newest first, a cursor page at a time; resolved and all on request', async () => {
  const firing = await allPages('/v1/alerts?limit=2');
  assert.deepEqual(
    firing.items.map((a) => a.fingerprint),
    [6, 5, 4, 3, 2].map(fp),
  );
  assert.deepEqual(firing.sizes, [2, 2, 1]);
  const resolved = await allPages('/v1/alerts?state=resolved&limit=10');
  assert.deepEqual(
    resolved.items.map((a) => a.fingerprint),
    [1, 0].map(fp),
  );
  assert.equal((await allPages('/v1/alerts?state=all&limit=3')).items.length, 7);
});

test('an alert as listed: status, labels, times, link, who resolved it', async () => {
  const { body } = await call('GET', `/v1/alerts/${fp(0)}`, 'viewer');
  assert.deepEqual(body, {
    fingerprint: fp(0),
    status: 'resolved',
    acknowledged: false,
    labels: { alertname: 'StepFailed', severity: 'warning', plan: 'p1', host: 'h-0', step: 'upgrade' },
    annotations: { summary: 'upgrade failed on h-0' },
    startsAt: new Date(T0).toISOString(),
    endsAt: new Date(T0 + 30 * 60_000).toISOString(),
    link: `${CONSOLE}/plans/p1/hosts/h-0/steps/upgrade`,
    ackedBy: null,
    ackedAt: null,
    resolvedBy: 'rule',
  });
  assert.equal((await call('GET', '/v1/alerts/ffffffffffffffff', 'viewer')).status, 404);
  const bad = await call('GET', '/v1/alerts/not-a-fingerprint', 'viewer');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'params.fingerprint');
});

test('filters by plan, host, severity and alert name; a bad filter is a 400 naming it', async () => {
  const fps = async (q: string) => (await allPages(`/v1/alerts?state=all&${q}`)).items.map((a) => a.fingerprint);
  assert.deepEqual(await fps('plan=p2'), [6, 5].map(fp));
  assert.deepEqual(await fps('host=h-4'), [fp(4)]);
  assert.deepEqual(await fps('severity=critical&plan=p1'), [fp(3)]);
  assert.deepEqual(await fps('alertname=NoSuchAlert'), []);
  const bad = await call('GET', '/v1/alerts?severity=urgent', 'viewer');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'querystring.severity');
  const cursor = await call('GET', '/v1/alerts?cursor=bm90LWEtY3Vyc29y', 'viewer');
  assert.equal(cursor.status, 400);
  assert.equal(cursor.body.error.code, 'INVALID_CURSOR');
});

test('acknowledging records the caller in the store; a viewer gets 403 and no token 401, changing nothing', async () => {
  const denied = await call('POST', `/v1/alerts/${fp(2)}/ack`, 'viewer');
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error.needs, 'operator');
  assert.equal((await call('POST', `/v1/alerts/${fp(2)}/ack`)).status, 401);
  assert.equal((await alerts.get(fp(2)))?.ackedBy, '');
  now += 1000;
  const acked = await call('POST', `/v1/alerts/${fp(2)}/ack`, 'operator');
  assert.equal(acked.status, 200, JSON.stringify(acked.body));
  assert.equal(acked.body.acknowledged, true);
  assert.equal(acked.body.ackedBy, testIdentity('operator'));
  const stored = await alerts.get(fp(2));
  assert.equal(stored?.ackedBy, testIdentity('operator'));
  assert.equal(stored?.ackedAt.getTime(), now);
  // A resolved alert has nothing to acknowledge.
  const resolved = await call('POST', `/v1/alerts/${fp(0)}/ack`, 'operator');
  assert.equal(resolved.status, 409);
  assert.equal(resolved.body.error.code, 'ALERT_NOT_FIRING');
  assert.equal((await call('POST', '/v1/alerts/ffffffffffffffff/ack', 'operator')).status, 404);
});

test('resolving by hand records the caller and takes the alert out of the firing list; twice is a 409', async () => {
  now += 1000;
  const res = await call('POST', `/v1/alerts/${fp(4)}/resolve`, 'operator');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.status, 'resolved');
  assert.equal(res.body.resolvedBy, testIdentity('operator'));
  const stored = await alerts.get(fp(4));
  assert.equal(stored?.resolvedBy, testIdentity('operator'));
  assert.equal(stored?.resolvedAt.getTime(), now);
  assert.ok(!(await allPages('/v1/alerts?limit=100')).items.some((a) => a.fingerprint === fp(4)));
  assert.equal((await call('POST', `/v1/alerts/${fp(4)}/resolve`, 'operator')).status, 409);
  assert.equal((await call('POST', `/v1/alerts/${fp(5)}/resolve`, 'viewer')).status, 403);
  // It fires again on a later event: a new episode, in the firing list again.
  await alerts.fire({ fingerprint: fp(4), labels: { alertname: 'StepFailed', host: 'h-4' }, annotations: {}, path: '', at: now + 1 });
  assert.ok((await allPages('/v1/alerts?limit=100')).items.some((a) => a.fingerprint === fp(4)));
});

test('a silence with bad matchers is refused with every problem named, and nothing is stored', async () => {
  const res = await call('POST', '/v1/silences', 'operator', {
    matchers: '{plan="p1", step=~"(upgrade"}',
    duration: '2 hours',
    comment: '',
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'VALIDATION_FAILED');
  assert.equal(res.body.error.field, 'body.matchers');
  assert.match(res.body.error.reason, /"\(upgrade" is not a valid regular expression for "step"/);
  assert.deepEqual(res.body.error.problems.map((p: { field: string }) => p.field).sort(), [
    'body.comment',
    'body.duration',
    'body.matchers',
  ]);
  assert.equal(await silences.model.countDocuments(), 0);
  const unknown = await call('POST', '/v1/silences', 'operator', { matchers: 'plan=p1', duration: '1h', comment: 'x', by: 'me' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.field, 'body.by');
  assert.equal((await call('POST', '/v1/silences', 'viewer', { matchers: 'plan=p1', duration: '1h', comment: 'x' })).status, 403);
  assert.equal(await silences.model.countDocuments(), 0);
});

test('silences are created as the caller, listed by state, and expired early', async () => {
  const active = await call('POST', '/v1/silences', 'operator', { matchers: '{plan="p1"}', duration: '2h', comment: 'rack maintenance' });
  assert.equal(active.status, 201, JSON.stringify(active.body));
  assert.equal(active.body.state, 'active');
  assert.equal(active.body.createdBy, testIdentity('operator'));
  assert.equal(active.body.endsAt, new Date(now + 2 * 3_600_000).toISOString());
  now += 1000; // a later createdAt: the list is newest first
  const startsAt = new Date(now + 24 * 3_600_000).toISOString();
  const pending = await call('POST', '/v1/silences', 'admin', {
    matchers: 'host=~"h-[0-9]+"',
    startsAt,
    duration: '30m',
    comment: 'tomorrow',
  });
  assert.equal(pending.status, 201, JSON.stringify(pending.body));
  assert.equal(pending.body.state, 'pending');
  const ids = async (state: string) =>
    ((await call('GET', `/v1/silences?state=${state}`, 'viewer')).body.items as { id: string }[]).map((s) => s.id);
  assert.deepEqual(await ids('active'), [active.body.id]);
  assert.deepEqual(await ids('pending'), [pending.body.id]);
  assert.deepEqual(await ids('all'), [pending.body.id, active.body.id]);

  now += 1000;
  const expired = await call('DELETE', `/v1/silences/${active.body.id}`, 'operator');
  assert.equal(expired.status, 200, JSON.stringify(expired.body));
  assert.equal(expired.body.state, 'expired');
  assert.equal(expired.body.expiredBy, testIdentity('operator'));
  assert.equal((await silences.get(active.body.id))?.endsAt.getTime(), now);
  assert.deepEqual(await ids('active'), []);
  assert.deepEqual(await ids('expired'), [active.body.id]);
  // Expiring again leaves its end where it was.
  now += 1000;
  await call('DELETE', `/v1/silences/${active.body.id}`, 'operator');
  assert.equal((await silences.get(active.body.id))?.endsAt.getTime(), now - 1000);
  assert.equal((await call('DELETE', '/v1/silences/s-00000000-0000-0000-0000-000000000000', 'operator')).status, 404);
  assert.equal((await call('DELETE', `/v1/silences/${pending.body.id}`, 'viewer')).status, 403);
  const page = await call('GET', '/v1/silences?state=all&limit=1', 'viewer');
  assert.equal(page.body.items.length, 1);
  assert.ok(page.body.nextCursor);
});

const pdEvent = (eventType: string) =>
  JSON.stringify({
    event: {
      id: '01DEN4HZ7JQ3S3KAYDOWMHHHPE',
      event_type: eventType,
      occurred_at: '2026-12-06T09:05:00.000Z',
      agent: { id: 'PLYEOA2', summary: 'Li Wei', type: 'user_reference' },
      data: { id: 'Q1ABCDEF', type: 'incident', incident_key: 'yx-group-0123abcd' },
    },
  });
const sign = (body: string, secret: string) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;

test('the PagerDuty webhook acts on a signed event and refuses a bad signature with 401', async () => {
  const body = pdEvent('incident.acknowledged');
  const post = (signature: string | undefined, payload = body) =>
    api.inject({
      method: 'POST',
      url: '/v1/webhooks/pagerduty',
      headers: { 'content-type': 'application/json; charset=utf-8', ...(signature ? { 'x-pagerduty-signature': signature } : {}) },
      payload,
    });
  const good = await post(`v1=00ff, ${sign(body, PD_SECRET)}`);
  assert.equal(good.statusCode, 200, good.body);
  assert.deepEqual(pdActions, [{ action: 'acknowledge', dedupKey: 'yx-group-0123abcd', actor: 'Li Wei' }]);

  for (const signature of [sign(body, 'another-secret'), undefined, sign(`${body} `, PD_SECRET)]) {
    const bad = await post(signature);
    assert.equal(bad.statusCode, 401, bad.body);
    assert.equal(bad.json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
  }
  // The signature is over the bytes sent: the same event re-serialized differently does not pass.
  const reformatted = JSON.stringify(JSON.parse(body), null, 2);
  assert.equal((await post(sign(body, PD_SECRET), reformatted)).statusCode, 401);
  const ping = pdEvent('pagey.ping');
  assert.equal((await post(sign(ping, PD_SECRET), ping)).statusCode, 200);
  assert.equal(pdActions.length, 1);
});

test('every alerting metric the Grafana dashboards query is exported', async () => {
  const res = await api.inject({ method: 'GET', url: '/metrics', headers: bearer('viewer') });
  assert.equal(res.statusCode, 200);
  const checked = await assertDashboardsServed(res.body, 'alerting service', (m) => m.startsWith('yx_alert'));
  assert.ok(checked >= 3, `${checked} alerting metrics queried by the dashboards`);
});

test('yx alerts and yx silences against the API: tables, acknowledgement as the caller, refusals in one line', async () => {
  const url = await api.listen({ port: 0, host: '127.0.0.1' });
  const yx = (...args: string[]) => runYx(url, [...args, '--alerting-api', url]);
  const listed = await yx('alerts', 'list');
  assert.equal(listed.code, 0, listed.stderr);
  const rows = listed.stdout.split('\n');
  assert.match(rows[0] ?? '', /^FINGERPRINT\s+STATE\s+SEVERITY\s+ALERT\s+PLAN\s+HOST\s+STEP\s+STARTED\s+BY$/);
  assert.match(
    listed.stdout,
    new RegExp(
      `^${fp(2)}\\s+acked\\s+warning\\s+StepFailed\\s+p1\\s+h-2\\s+upgrade\\s+2026-12-06 08:02Z\\s+${testIdentity('operator')}$`,
      'm',
    ),
  );
  assert.ok(!listed.stdout.includes(fp(0)), 'a resolved alert is not listed by default');
  const resolved = await yx('alerts', 'list', '--state', 'resolved', '--plan', 'p1', '--json');
  assert.deepEqual(
    (JSON.parse(resolved.stdout) as { fingerprint: string }[]).map((a) => a.fingerprint),
    [1, 0].map(fp),
  );

  const acked = await yx('alerts', 'ack', fp(3));
  assert.equal(acked.code, 0, acked.stderr);
  assert.match(acked.stdout, new RegExp(`${fp(3)}: acknowledged by ${testIdentity('operator')}`));
  assert.equal((await alerts.get(fp(3)))?.ackedBy, testIdentity('operator'));
  const refused = await yx('alerts', 'resolve', fp(0));
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, `yx: alert ${fp(0)} is resolved; there is nothing to resolve (HTTP 409 ALERT_NOT_FIRING)\n`);

  const before = await silences.model.countDocuments();
  const bad = await yx('silences', 'add', 'plan=~"(p1"', '--duration', '1h', '--comment', 'x');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^yx: body\.matchers: .*"\(p1" is not a valid regular expression for "plan".*\(HTTP 400 VALIDATION_FAILED\)$/m);
  assert.equal(await silences.model.countDocuments(), before);
  const added = await yx('silences', 'add', 'plan=p2', 'step=upgrade', '--duration', '1h', '--comment', 'p2 by hand', '--json');
  assert.equal(added.code, 0, added.stderr);
  const silence = JSON.parse(added.stdout) as { id: string; matchers: string; createdBy: string };
  assert.equal(silence.matchers, 'plan=p2, step=upgrade');
  assert.equal(silence.createdBy, testIdentity('operator'));
  const active = await yx('silences', 'list', '--state', 'active');
  assert.match(active.stdout, new RegExp(`^${silence.id}\\s+active\\s+plan=p2, step=upgrade\\s`, 'm'));
  const expired = await yx('silences', 'expire', silence.id);
  assert.equal(expired.code, 0, expired.stderr);
  assert.match(expired.stdout, new RegExp(`^${silence.id}: expired \\(ended .+ by ${testIdentity('operator')}\\)$`, 'm'));
  assert.equal((await silences.get(silence.id))?.expiredBy, testIdentity('operator'));
});
