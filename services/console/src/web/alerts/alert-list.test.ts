import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AlertView,
  alertStateOf,
  alertsQuery,
  appendPage,
  deepLinkOf,
  firingDigest,
  keepsAlert,
  labelsInOrder,
  replaceAlert,
  whereOf,
} from './alert-list.ts';

const alert = (fingerprint: string, extra: Partial<AlertView> = {}, labels: Record<string, string> = {}): AlertView => ({
  fingerprint,
  status: 'firing',
  acknowledged: false,
  labels: { alertname: 'StepFailed', severity: 'warning', plan: 'p-1', host: 'h-1', step: 'upgrade', ...labels },
  annotations: { summary: `${fingerprint} failed` },
  startsAt: '2026-12-06T10:00:00.000Z',
  endsAt: null,
  link: 'http://console.test/plans/p-1/hosts/h-1/steps/upgrade',
  ackedBy: null,
  ackedAt: null,
  resolvedBy: null,
  ...extra,
});

test('an alert reads firing, acknowledged (firing, someone took it) or resolved', () => {
  assert.equal(alertStateOf(alert('a')), 'firing');
  assert.equal(alertStateOf(alert('a', { acknowledged: true })), 'acknowledged');
  assert.equal(alertStateOf(alert('a', { status: 'resolved', acknowledged: true })), 'resolved');
});

test('each filter asks the API for what it can filter, and keeps its own', () => {
  assert.equal(alertsQuery('firing', null, 50), 'state=firing&limit=50');
  assert.equal(alertsQuery('acknowledged', 'abc', 50), 'state=firing&limit=50&cursor=abc');
  assert.equal(alertsQuery('resolved', null, 10), 'state=resolved&limit=10');
  assert.equal(alertsQuery('all', null, 10), 'state=all&limit=10');
  const acked = alert('b', { acknowledged: true });
  assert.equal(keepsAlert('firing', acked), true, 'an acknowledged alert still fires');
  assert.equal(keepsAlert('acknowledged', alert('c')), false);
  assert.equal(keepsAlert('firing', alert('d', { status: 'resolved' })), false);
  assert.equal(keepsAlert('acknowledged', acked), true);
  assert.equal(keepsAlert('all', acked), true);
});

test('a further page adds each alert once; an action’s answer replaces it or drops it from the filter', () => {
  const list = appendPage([alert('a'), alert('b')], [alert('b', { acknowledged: true }), alert('c')]);
  assert.deepEqual(
    list.map((a) => [a.fingerprint, a.acknowledged]),
    [
      ['a', false],
      ['b', true],
      ['c', false],
    ],
  );
  const acked = alert('a', { acknowledged: true });
  assert.deepEqual(
    replaceAlert(list, acked, 'resolved').map((a) => a.fingerprint),
    ['b', 'c'],
  );
  assert.equal(replaceAlert(list, acked, 'firing')[0]?.acknowledged, true);
  assert.equal(replaceAlert(list, acked, 'all')[0]?.acknowledged, true);
});

test('the overview counts firing alerts by severity and shows the newest, the most severe first among equals', () => {
  const d = firingDigest(
    [
      alert('old', { startsAt: '2026-12-06T09:00:00.000Z' }, { severity: 'critical' }),
      alert('new-warning', { startsAt: '2026-12-06T11:00:00.000Z' }),
      alert('new-critical', { startsAt: '2026-12-06T11:00:00.000Z' }, { severity: 'critical' }),
      alert('gone', { status: 'resolved', startsAt: '2026-12-06T12:00:00.000Z' }),
      alert('odd', { startsAt: '2026-12-06T08:00:00.000Z' }, { severity: 'page-me' }),
    ],
    2,
  );
  assert.deepEqual(d.bySeverity, { critical: 2, warning: 1, info: 1 });
  assert.deepEqual(
    d.newest.map((a) => a.fingerprint),
    ['new-critical', 'new-warning'],
  );
});

test("the deep link is the link's path in this console, whatever origin YX_CONSOLE_URL names", () => {
  assert.equal(deepLinkOf(alert('a')), '/plans/p-1/hosts/h-1/steps/upgrade');
  assert.equal(deepLinkOf(alert('a', { link: 'https://ops.example.cn/console/x' })), '/plans/p-1/hosts/h-1/steps/upgrade');
  assert.equal(deepLinkOf(alert('a', { link: '' }, { step: '' })), '/hosts/h-1');
  assert.equal(deepLinkOf({ link: 'http://c/', labels: { alertname: 'SchedulerDown' } }), null);
});

test('labels read alertname, severity, where, then the rest; where is plan / host / step', () => {
  assert.deepEqual(
    labelsInOrder({ zone: 'z', host: 'h', alertname: 'A', cluster: 'c', severity: 's' }).map(([k]) => k),
    ['alertname', 'severity', 'host', 'cluster', 'zone'],
  );
  assert.equal(whereOf(alert('a')), 'p-1 / h-1 / upgrade');
  assert.equal(whereOf({ labels: { plan: 'p-2' } }), 'p-2');
});
