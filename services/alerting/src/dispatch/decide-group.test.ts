import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRoutingConfig } from '../config/routing-config.ts';
import { fingerprint } from '../engine/fingerprint.ts';
import type { Notification } from '../model/alert.ts';
import type { LogRecord } from '../store/notification-log.store.ts';
import { decideGroup } from './dispatcher.ts';
import { type AlertState, groupAlerts } from './grouping.ts';

const { route } = loadRoutingConfig(
  { route: { receiver: 'ops', group_by: ['plan'], group_wait: '30s', group_interval: '5m', repeat_interval: '4h' } },
  ['ops'],
);
const labels = { alertname: 'StepFailed', plan: 'p1', host: 'h1' };
const state = (status: 'firing' | 'resolved', startsAt: number): AlertState => ({
  alert: {
    fingerprint: fingerprint(labels),
    labels,
    annotations: {},
    startsAt,
    endsAt: status === 'firing' ? null : startsAt + 1,
    link: '',
  },
  status,
  acknowledged: false,
});
const groupOf = (a: AlertState, now: number) => {
  const [g] = groupAlerts({ alerts: [a], tree: route, silences: [], inhibitRules: [], now }).values();
  assert.ok(g);
  return g;
};
const record = (over: Partial<LogRecord>): LogRecord => ({
  target: 'ops/0',
  receiver: 'ops',
  groupKey: 'k',
  seq: 7,
  at: 0,
  firing: [],
  resolved: [fingerprint(labels)],
  acknowledged: false,
  delivery: 'delivered',
  owner: 'r1',
  leaseUntil: 0,
  notification: {} as Notification,
  attempts: 1,
  doneAt: 1,
  error: '',
  ...over,
});

describe('decideGroup', () => {
  it('after an incident ended (its resolution delivered), a new alert waits group_wait again and the log’s sequence goes on', () => {
    const now = 10_000_000;
    const g = groupOf(state('firing', now), now);
    assert.deepEqual(decideGroup(g, record({}), now, {}, now), { kind: 'wait', until: now + 30_000 });
    const due = decideGroup(g, record({}), now, {}, now + 30_000);
    assert.equal(due.kind, 'notify');
    assert.equal(due.kind === 'notify' && due.seq, 8);
  });

  it('an incident whose resolution is still being delivered is not over: a new alert is a change of it', () => {
    const now = 10_000_000;
    const g = groupOf(state('firing', now), now);
    const d = decideGroup(g, record({ delivery: 'pending', at: now - 600_000 }), now, {}, now);
    assert.equal(d.kind, 'notify');
  });

  it('a receiver with send_resolved off is not told of a resolution', () => {
    const now = 10_000_000;
    const g = groupOf(state('resolved', now - 1_000_000), now);
    const told = record({ firing: [fingerprint(labels)], resolved: [], at: now - 900_000 });
    assert.equal(decideGroup(g, told, now, {}, now).kind, 'notify');
    assert.deepEqual(decideGroup(g, told, now, { sendResolved: false }, now), { kind: 'done' });
  });
});
