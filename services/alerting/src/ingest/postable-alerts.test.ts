import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fingerprint } from '../engine/fingerprint.ts';
import { changesOfPostedAlerts, DEFAULT_PUSH_RESOLVE_TIMEOUT_MS, type PostableAlert } from './postable-alerts.ts';

const NOW = Date.parse('2026-12-06T22:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const labels = { alertname: 'YixingBackupServiceDown', job: 'yixing-backup', instance: '10.0.0.5:8081', severity: 'critical' };

/** As Prometheus sends a firing alert: endsAt 4 resend intervals ahead, nanoseconds in the times. */
const firing: PostableAlert = {
  labels,
  annotations: { summary: 'The Yixing backup service is not scraped' },
  startsAt: '2026-12-06T21:58:00.123456789Z',
  endsAt: iso(NOW + 240_000),
  generatorURL: 'http://prometheus:9090/graph?g0.expr=up%7Bjob%3D%22yixing-backup%22%7D+%3D%3D+0',
};

test('a firing alert fires until its endsAt, from its startsAt, linked to its expression', () => {
  const { changes, problems } = changesOfPostedAlerts([firing], NOW, DEFAULT_PUSH_RESOLVE_TIMEOUT_MS);
  assert.deepEqual(problems, []);
  assert.deepEqual(changes, [
    {
      op: 'fire',
      fingerprint: fingerprint(labels),
      labels,
      annotations: firing.annotations,
      startsAt: Date.parse('2026-12-06T21:58:00.123Z'),
      expiresAt: NOW + 240_000,
      generatorUrl: firing.generatorURL,
    },
  ]);
});

test('an alert whose endsAt has passed (or is now) resolves', () => {
  for (const endsAt of [NOW - 1000, NOW]) {
    const { changes } = changesOfPostedAlerts([{ ...firing, endsAt: iso(endsAt) }], NOW, DEFAULT_PUSH_RESOLVE_TIMEOUT_MS);
    assert.deepEqual(changes, [{ op: 'resolve', fingerprint: fingerprint(labels), labels }]);
  }
});

test('no times (or Go zero times): it started now and fires for the resolve timeout', () => {
  for (const times of [{}, { startsAt: '0001-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z' }, { startsAt: '', endsAt: '' }]) {
    const { changes } = changesOfPostedAlerts([{ labels, ...times }], NOW, 60_000);
    assert.equal(changes[0]?.op, 'fire', JSON.stringify(times));
    assert.equal(changes[0]?.op === 'fire' && changes[0].startsAt, NOW);
    assert.equal(changes[0]?.op === 'fire' && changes[0].expiresAt, NOW + 60_000);
  }
});

test('a startsAt ahead of this clock starts the episode now; empty label values are dropped, as in the fingerprint', () => {
  const { changes } = changesOfPostedAlerts([{ ...firing, labels: { ...labels, zone: '' }, startsAt: iso(NOW + 5000) }], NOW, 1);
  const c = changes[0];
  assert.ok(c?.op === 'fire');
  assert.equal(c.startsAt, NOW);
  assert.deepEqual(c.labels, labels);
  assert.equal(c.fingerprint, fingerprint(labels));
});

test('every problem of every alert is named with its place, and nothing is taken', () => {
  const { changes, problems } = changesOfPostedAlerts(
    [
      firing,
      { labels: { job: 'x', '1st': 'y' }, annotations: { 'bad-name': 'z' } },
      { labels, startsAt: 'yesterday', endsAt: '2026-12-06 22:00' },
      { labels, startsAt: iso(NOW), endsAt: iso(NOW - 60_000), generatorURL: 'javascript:alert(1)' },
      { labels: { alertname: 'StepFailed', plan: 'p1', host: 'h1' }, endsAt: iso(NOW - 1) },
    ],
    NOW,
    DEFAULT_PUSH_RESOLVE_TIMEOUT_MS,
  );
  assert.deepEqual(changes, []);
  assert.deepEqual(
    problems.map((p) => p.path),
    [
      'body[1].labels.1st',
      'body[1].annotations.bad-name',
      'body[1].labels.alertname',
      'body[2].startsAt',
      'body[2].endsAt',
      'body[3].endsAt',
      'body[3].generatorURL',
      'body[4].labels.alertname',
    ],
  );
  assert.match(problems[3]?.reason ?? '', /"yesterday" is not an RFC 3339 time/);
  assert.match(problems[5]?.reason ?? '', /is before startsAt/);
  assert.match(problems[7]?.reason ?? '', /StepFailed is an alert of the alerting service's own rules/);
});

test('an empty list changes nothing and is no problem', () => {
  assert.deepEqual(changesOfPostedAlerts([], NOW, 1), { changes: [], problems: [] });
});
