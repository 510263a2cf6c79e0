// Our Alertmanager-facing receivers against a real Prometheus Alertmanager (Debian's, started
// per test by tests/fixtures/alertmanager.ts): the forwarding receiver's alerts as
// Alertmanager's API v2 reads them back, and Alertmanager's own webhook v4 notifications
// beside ours for the same alerts.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  AlertmanagerReceiver,
  buildRouteTree,
  type CapturedRequest,
  DEFAULT_RESOLVE_TIMEOUT_MS,
  DeliveryError,
  failedStep,
  fingerprint,
  groupAlerts,
  type Notification,
  type NotifiedAlert,
  notification,
  notificationOf,
  startCaptureServer,
  WebhookReceiver,
  ZERO_TIME,
} from '@yixing/alerting/internal';
import { type GettableAlert, startAlertmanager } from '../fixtures/alertmanager.ts';
import { waitUntil } from '../fixtures/wait.ts';

const never = new AbortController().signal;

/** Alerts of failed steps with real fingerprints, started a minute before `now` (Alertmanager compares endsAt with its clock). */
function failedSteps(hosts: number[], now: number): NotifiedAlert[] {
  return hosts.map((i) => {
    const a = failedStep(i, { startsAt: now - 60_000 });
    return { ...a, fingerprint: fingerprint(a.labels) };
  });
}

function forwarder(url: string): AlertmanagerReceiver {
  // The trailing slash: the configured base URL is joined with /api/v2/alerts either way.
  return new AlertmanagerReceiver('upstream-am', { url: `${url}/`, resolveTimeoutMs: DEFAULT_RESOLVE_TIMEOUT_MS, timeoutMs: 10_000 });
}

const byHost = <T extends { labels: Record<string, string> }>(alerts: readonly T[]): T[] =>
  alerts.filter((a) => a.labels.alertname === 'StepFailed').toSorted((a, b) => (a.labels.host ?? '').localeCompare(b.labels.host ?? ''));

// Alertmanager with no notifier: the forwarding tests read its API only.
const QUIET_CONFIG = { route: { receiver: 'blackhole', group_wait: '1h' }, receivers: [{ name: 'blackhole' }] };

test('forwarded alerts read back from API v2 as sent: labels, annotations, link, startsAt, endsAt a resolve timeout after sending; resolved ones leave', async () => {
  const am = await startAlertmanager(QUIET_CONFIG);
  after(() => am.stop());
  const receiver = forwarder(am.url);
  const at = Date.now();
  const sent = failedSteps([1, 2], at);
  await receiver.send(notification(sent, { at }), never);
  const afterSend = Date.now();

  const listed = byHost(await am.alerts());
  assert.equal(listed.length, 2, `both alerts listed: ${JSON.stringify(listed)}`);
  for (const [i, got] of listed.entries()) {
    const want = sent[i] as NotifiedAlert;
    assert.deepEqual(got.labels, want.labels);
    assert.deepEqual(got.annotations, want.annotations, 'multi-line, non-ASCII annotations intact');
    assert.equal(got.generatorURL, want.link, 'generatorURL is the link to the failed step');
    assert.equal(Date.parse(got.startsAt), want.startsAt);
    const endsAt = Date.parse(got.endsAt);
    assert.ok(
      endsAt >= at + DEFAULT_RESOLVE_TIMEOUT_MS && endsAt <= afterSend + DEFAULT_RESOLVE_TIMEOUT_MS,
      `endsAt ${got.endsAt}: sent at ${new Date(at).toISOString()} + the resolve timeout`,
    );
    assert.equal(got.status.state, 'active');
    assert.deepEqual(
      got.receivers.map((r) => r.name),
      ['blackhole'],
    );
    assert.match(got.fingerprint, /^[0-9a-f]{16}$/);
  }

  const resolvedAt = Date.now();
  await receiver.send(
    notification(
      sent.map((a) => ({ ...a, status: 'resolved' as const, endsAt: resolvedAt })),
      { at: resolvedAt },
    ),
    never,
  );
  const hosts = (alerts: GettableAlert[]): string[] => byHost(alerts).map((a) => `${a.labels.host} ${a.status.state} until ${a.endsAt}`);
  assert.deepEqual(hosts(await am.alerts({ active: 'true' })), [], 'no longer in the active set');
  assert.deepEqual(hosts(await am.alerts()), [], 'nor listed at all: Alertmanager lists no resolved alerts');
});

test('a firing notification delivered long after its flush (past the resolve timeout) still fires in Alertmanager', async () => {
  const am = await startAlertmanager(QUIET_CONFIG);
  after(() => am.stop());
  // Made 20 minutes ago and delivered now: a pending delivery taken over after every replica was down.
  const sentFrom = Date.now();
  const flushedAt = sentFrom - 20 * 60_000;
  await forwarder(am.url).send(notification(failedSteps([1], flushedAt), { at: flushedAt }), never);
  const active = byHost(await am.alerts({ active: 'true' })).map((a) => ({ host: a.labels.host, state: a.status.state, endsAt: a.endsAt }));
  assert.deepEqual(
    active.map((a) => [a.host, a.state]),
    [['host-001', 'active']],
    `still firing in Alertmanager, not resolved on arrival: ${JSON.stringify(active)}`,
  );
  assert.ok(Date.parse(active[0]?.endsAt ?? '') >= sentFrom + DEFAULT_RESOLVE_TIMEOUT_MS, 'a resolve timeout from the delivery');
});

test('an alert Alertmanager refuses (a label name it rejects) is a non-retryable DeliveryError with its HTTP 400', async () => {
  const am = await startAlertmanager(QUIET_CONFIG);
  after(() => am.stop());
  const at = Date.now();
  const [good, bad] = failedSteps([1, 2], at);
  const malformed = { ...(bad as NotifiedAlert), labels: { ...(bad as NotifiedAlert).labels, 'failure-code': 'X' } };
  const err = await forwarder(am.url)
    .send(notification([good as NotifiedAlert, malformed], { at }), never)
    .then(
      () => assert.fail('Alertmanager accepted a label named failure-code'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof DeliveryError, `a DeliveryError, not ${String(err)}`);
  assert.equal(err.code, 'RECEIVER_REFUSED');
  assert.equal(err.retryable, false, 'sending it again would be refused again');
  assert.equal((err.details as { status?: number }).status, 400);
  assert.match(err.message, /failure-code/, "the message quotes Alertmanager's reason");
  // Alertmanager keeps the valid alerts of a batch it answers 400 to: nothing to re-send for them.
  assert.deepEqual(
    byHost(await am.alerts()).map((a) => a.labels.host),
    ['host-001'],
  );
});

/** A value's shape: object keys (sorted) with their shapes, array element shapes, or the JSON type. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, shape(x)]),
    );
  }
  return v === null ? 'null' : typeof v;
}

interface WebhookBody {
  version: string;
  status: string;
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  truncatedAlerts: number;
  alerts: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
}

const bodyOf = (r: CapturedRequest | undefined): WebhookBody => {
  assert.ok(r, 'a webhook request');
  assert.match(String(r.headers['content-type']), /^application\/json/);
  return JSON.parse(r.body) as WebhookBody;
};

/** Ours and Alertmanager's notification of the same alerts: same shape, same values where both mean the same thing. */
function assertSameNotification(ours: WebhookBody, theirs: WebhookBody, status: 'firing' | 'resolved', truncated: number): void {
  assert.deepEqual(
    shape({ ...ours, alerts: byHost(ours.alerts) }),
    shape({ ...theirs, alerts: byHost(theirs.alerts) }),
    'same keys and value types',
  );
  for (const p of [ours, theirs]) {
    assert.equal(p.version, '4');
    assert.equal(p.status, status);
    assert.equal(p.truncatedAlerts, truncated);
  }
  for (const key of ['receiver', 'groupKey', 'groupLabels', 'commonLabels', 'commonAnnotations'] as const) {
    assert.deepEqual(ours[key], theirs[key], key);
  }
  const [o, t] = [byHost(ours.alerts), byHost(theirs.alerts)];
  assert.equal(o.length, t.length);
  for (const [i, a] of o.entries()) {
    const b = t[i] as WebhookBody['alerts'][number];
    assert.equal(a.status, status);
    assert.equal(b.status, status);
    assert.deepEqual([a.labels, a.annotations, a.generatorURL], [b.labels, b.annotations, b.generatorURL]);
    assert.equal(Date.parse(a.startsAt), Date.parse(b.startsAt), 'startsAt');
    if (status === 'firing') assert.deepEqual([a.endsAt, b.endsAt], [ZERO_TIME, ZERO_TIME], 'endsAt is Go zero time while firing');
    else assert.equal(Date.parse(a.endsAt), Date.parse(b.endsAt), 'endsAt of a resolved alert');
    // Alertmanager's fingerprint is FNV-64a, ours sha256 (engine/fingerprint.ts): the same form.
    assert.match(a.fingerprint, /^[0-9a-f]{16}$/);
    assert.match(b.fingerprint, /^[0-9a-f]{16}$/);
  }
}

test("Alertmanager's webhook v4 notifications, firing then resolved, whole and cut to max_alerts, and ours for the same alerts have the same form", async () => {
  const hooks = await startCaptureServer();
  after(() => hooks.close());
  // Each webhook of Alertmanager's receiver `hook` beside ours with the same max_alerts.
  const variants = [
    { path: 'whole', maxAlerts: 0 },
    { path: 'cut', maxAlerts: 2 },
  ];
  const am = await startAlertmanager({
    route: { receiver: 'hook', group_by: ['plan'], group_wait: '0s', group_interval: '1s', repeat_interval: '1h' },
    receivers: [
      {
        name: 'hook',
        webhook_configs: variants.map((v) => ({
          url: `${hooks.base}/alertmanager/${v.path}`,
          send_resolved: true,
          max_alerts: v.maxAlerts,
        })),
      },
    ],
  });
  after(() => am.stop());
  const forward = forwarder(am.url);
  // Our side of the same configuration: one route, grouped by plan, to the receiver `hook`.
  const tree = buildRouteTree({ receiver: 'hook', groupBy: ['plan'] });
  const ours = (alerts: readonly NotifiedAlert[], at: number): Notification => {
    const groups = groupAlerts({
      alerts: alerts.map(({ status, ...alert }) => ({ alert, status, acknowledged: false })),
      tree,
      silences: [],
      inhibitRules: [],
      now: at,
    });
    const [group, ...others] = groups.values();
    assert.ok(group && others.length === 0, 'one group');
    // In Alertmanager's order (by labels: by host here), so that max_alerts keeps the same alerts.
    const fps = byHost(alerts).map((a) => a.fingerprint);
    const firing = alerts.every((a) => a.status === 'firing');
    return notificationOf(group, { firing: firing ? fps : [], resolved: firing ? [] : fps, acknowledged: false, seq: 1 }, am.url, at);
  };
  /**
   * Alertmanager's notification of all `count` alerts in `status`. Its first flush may
   * come while the alerts of one POST are still being inserted (group_wait is skipped for
   * alerts older than it), and then the next, group_interval later, holds them all.
   */
  const alertmanagerSent = (path: string, status: 'firing' | 'resolved', count: number): Promise<WebhookBody> =>
    waitUntil(
      async () => {
        const sent = hooks.requests.filter((r) => r.url === `/alertmanager/${path}`).map(bodyOf);
        const found = sent.find((p) => p.status === status && p.alerts.length + p.truncatedAlerts === count);
        return { done: found !== undefined, value: found as WebhookBody, state: String(sent.length) };
      },
      { what: `Alertmanager's ${status} webhook notification of ${count} alerts to /${path}`, intervalMs: 100 },
    );
  const compare = async (alerts: NotifiedAlert[], at: number, status: 'firing' | 'resolved'): Promise<void> => {
    for (const v of variants) {
      const url = `${hooks.base}/yixing/${v.path}`;
      await new WebhookReceiver('hook', { url, maxAlerts: v.maxAlerts, httpHeaders: {}, timeoutMs: 10_000 }).send(ours(alerts, at), never);
      const mine = bodyOf(hooks.requests.findLast((r) => r.url === `/yixing/${v.path}`));
      const theirs = await alertmanagerSent(v.path, status, alerts.length);
      assertSameNotification(mine, theirs, status, alerts.length - (v.maxAlerts || alerts.length));
    }
  };

  const at = Date.now();
  // host-003 in another wave: the two alerts max_alerts keeps have more labels in common than all three.
  const firing = failedSteps([1, 2, 3], at).map((a) =>
    a.labels.host === 'host-003' ? { ...a, labels: { ...a.labels, wave: '3' }, fingerprint: fingerprint({ ...a.labels, wave: '3' }) } : a,
  );
  await forward.send(notification(firing, { at }), never);
  await compare(firing, at, 'firing');

  const resolvedAt = Date.now();
  const resolved = firing.map((a) => ({ ...a, status: 'resolved' as const, endsAt: resolvedAt }));
  await forward.send(notification(resolved, { at: resolvedAt }), never);
  await compare(resolved, resolvedAt, 'resolved');
});
