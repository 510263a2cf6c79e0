import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decideFlush,
  type FlushAlert,
  type FlushDecision,
  type FlushInput,
  logEntryOf,
  type NotificationLogEntry,
  nextWakeUp,
} from './flush.ts';
import type { RouteTimers } from './routing.ts';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const timers: RouteTimers = { groupWaitMs: 30 * S, groupIntervalMs: 5 * M, repeatIntervalMs: 4 * H };
const T0 = 1_700_000_000_000;

const firing = (fingerprint: string, startsAt = T0, more: Partial<FlushAlert> = {}): FlushAlert => ({
  fingerprint,
  status: 'firing',
  startsAt,
  endsAt: null,
  acknowledged: false,
  muted: false,
  ...more,
});
const resolve = (a: FlushAlert, at: number): FlushAlert => ({ ...a, status: 'resolved', endsAt: at });
const decide = (alerts: readonly FlushAlert[], last: NotificationLogEntry | null, now: number, more: Partial<FlushInput> = {}) =>
  decideFlush({ alerts, timers, firstAlertAt: T0, last, now, ...more });

function notified(d: FlushDecision, at: number): NotificationLogEntry {
  assert.equal(d.kind, 'notify', `expected a notification, got ${JSON.stringify(d)}`);
  return logEntryOf(d as Extract<FlushDecision, { kind: 'notify' }>, at);
}

test('200 alerts arriving one by one within group_wait make one notification with all of them', () => {
  const alerts: FlushAlert[] = [];
  const decisions: FlushDecision[] = [];
  for (let i = 0; i < 200; i++) {
    const at = T0 + i * 100; // 200 hosts failing over 20 s
    alerts.push(firing(`fp${String(i).padStart(3, '0')}`, at));
    decisions.push(decide(alerts, null, at));
  }
  assert.ok(
    decisions.every((d) => d.kind === 'wait' && d.until === T0 + 30 * S),
    'every arrival waits for the same group_wait end',
  );
  const d = decide(alerts, null, T0 + 30 * S);
  assert.equal(d.kind, 'notify');
  if (d.kind !== 'notify') return;
  assert.equal(d.firing.length, 200);
  assert.deepEqual(d.firing, [...d.firing].sort());
  assert.deepEqual([d.reason, d.seq, d.resolved, d.acknowledged], ['first', 1, [], false]);
  const last = notified(d, T0 + 30 * S);
  assert.deepEqual(decide(alerts, last, T0 + 31 * S), { kind: 'wait', until: T0 + 30 * S + 4 * H }, 'then only the repeat');
});

test('a group of 300,000 alerts is decided (no argument-list limits)', () => {
  const alerts = Array.from({ length: 300_000 }, (_, i) => firing(`fp${i}`, T0 + i));
  const d = decide(alerts, null, T0 + H);
  assert.equal(d.kind === 'notify' && d.firing.length, 300_000);
});

test('an alert older than group_wait is notified at once, as in Alertmanager', () => {
  const d = decide([firing('a', T0 - H)], null, T0);
  assert.equal(d.kind === 'notify' && d.reason, 'first');
});

test('a late alert goes out at the next group_interval, with the whole group', () => {
  const a = firing('a');
  const last = notified(decide([a], null, T0 + 30 * S), T0 + 30 * S);
  const b = firing('b', T0 + M);
  assert.deepEqual(decide([a, b], last, T0 + M), { kind: 'wait', until: T0 + 30 * S + 5 * M });
  const d = decide([a, b], last, T0 + 30 * S + 5 * M);
  assert.deepEqual(d, { kind: 'notify', firing: ['a', 'b'], resolved: [], acknowledged: false, seq: 2, reason: 'changed' });
});

test('an unchanged group is repeated after repeat_interval, never sooner than group_interval', () => {
  const a = firing('a');
  const last: NotificationLogEntry = { seq: 4, at: T0, firing: ['a'], resolved: [], acknowledged: false };
  assert.deepEqual(decide([a], last, T0 + 4 * H - 1), { kind: 'wait', until: T0 + 4 * H });
  assert.equal((decide([a], last, T0 + 4 * H) as { reason?: string }).reason, 'repeat');
  const short = { ...timers, repeatIntervalMs: M };
  assert.deepEqual(decide([a], last, T0 + 2 * M, { timers: short }), { kind: 'wait', until: T0 + 5 * M });
});

test('acknowledging every firing alert is sent once and stops repeats', () => {
  const a = firing('a');
  const b = firing('b');
  const last: NotificationLogEntry = { seq: 1, at: T0, firing: ['a', 'b'], resolved: [], acknowledged: false };
  const onlyA = [{ ...a, acknowledged: true }, b];
  assert.deepEqual(decide(onlyA, last, T0 + 5 * M), { kind: 'wait', until: T0 + 4 * H }, 'one of two acknowledged: nothing to say');
  const acked = onlyA.map((x) => ({ ...x, acknowledged: true }));
  const d = decide(acked, last, T0 + 5 * M);
  assert.deepEqual(d, { kind: 'notify', firing: ['a', 'b'], resolved: [], acknowledged: true, seq: 2, reason: 'acknowledged' });
  const afterAck = notified(d, T0 + 5 * M);
  assert.deepEqual(decide(acked, afterAck, T0 + 100 * H), { kind: 'wait', until: null }, 'no repeat, ever');
  const c = firing('c', T0 + 6 * H);
  const withNew = decide([...acked, c], afterAck, T0 + 6 * H);
  assert.deepEqual(withNew, { kind: 'notify', firing: ['a', 'b', 'c'], resolved: [], acknowledged: false, seq: 3, reason: 'changed' });
  const unacked = decide([a, b], afterAck, T0 + 6 * H);
  assert.equal(unacked.kind === 'notify' && `${unacked.reason} ${unacked.acknowledged}`, 'changed false', 'un-acknowledging is a change');
});

test('a receiver refresh re-sends firing alerts even when acknowledged', () => {
  const acked = [firing('a', T0, { acknowledged: true })];
  const last: NotificationLogEntry = { seq: 1, at: T0, firing: ['a'], resolved: [], acknowledged: true };
  assert.deepEqual(decide(acked, last, T0 + M, { refreshMs: 2 * M }), { kind: 'wait', until: T0 + 2 * M });
  assert.equal((decide(acked, last, T0 + 2 * M, { refreshMs: 2 * M }) as { reason?: string }).reason, 'refresh');
  const unacked = [firing('a')];
  const both = decide(unacked, { ...last, acknowledged: false }, T0 + 5 * H, { refreshMs: H });
  assert.equal((both as { reason?: string }).reason, 'repeat', 'a repeat due at the same time is the reason');
});

test('a silence suppresses; its expiry re-notifies what still fires, at once', () => {
  const a = firing('a');
  const last = notified(decide([a], null, T0 + 30 * S), T0 + 30 * S);
  const silenced = { ...a, muted: true };
  assert.deepEqual(decide([silenced], last, T0 + 10 * H), { kind: 'wait', until: null }, 'silenced: no repeat');
  // Expiring within the repeat interval: Alertmanager would wait for the repeat; we tell at once.
  const expired = { ...a, unmutedAt: T0 + H };
  const d = decide([expired], last, T0 + H);
  assert.deepEqual(d, { kind: 'notify', firing: ['a'], resolved: [], acknowledged: false, seq: 2, reason: 'changed' });
  assert.deepEqual(decide([expired], notified(d, T0 + H), T0 + H + M), { kind: 'wait', until: T0 + 5 * H }, 'once');
});

test('muted alerts are left out; unmuted later, they count as new', () => {
  const a = firing('a');
  const b = firing('b', T0, { muted: true });
  const d = decide([a, b], null, T0 + 30 * S);
  assert.deepEqual(d, { kind: 'notify', firing: ['a'], resolved: [], acknowledged: false, seq: 1, reason: 'first' });
  const last = notified(d, T0 + 30 * S);
  assert.deepEqual(decide([a, { ...b, muted: false, unmutedAt: T0 + H }], last, T0 + H), {
    kind: 'notify',
    firing: ['a', 'b'],
    resolved: [],
    acknowledged: false,
    seq: 2,
    reason: 'changed',
  });
  assert.deepEqual(decide([{ ...a, muted: true }, b], null, T0 + H), { kind: 'wait', until: null }, 'all muted: nothing to send');
  const muteLaterAlone = decide([{ ...a, muted: true }], last, T0 + 5 * H);
  assert.deepEqual(muteLaterAlone, { kind: 'wait', until: null }, 'a mute is not a change');
});

test('a resolved alert is sent once, then the group is done', () => {
  const a = firing('a');
  const b = firing('b');
  const last: NotificationLogEntry = { seq: 1, at: T0, firing: ['a', 'b'], resolved: [], acknowledged: false };
  const partly = decide([resolve(a, T0 + M), b], last, T0 + 5 * M);
  assert.deepEqual(partly, { kind: 'notify', firing: ['b'], resolved: ['a'], acknowledged: false, seq: 2, reason: 'changed' });
  const after = notified(partly, T0 + 5 * M);
  assert.deepEqual(decide([resolve(a, T0 + M), b], after, T0 + 6 * M), { kind: 'wait', until: T0 + 5 * M + 4 * H }, 'a not again');
  const all = decide([resolve(a, T0 + M), resolve(b, T0 + 7 * M)], after, T0 + 10 * M);
  assert.deepEqual(all, { kind: 'notify', firing: [], resolved: ['b'], acknowledged: false, seq: 3, reason: 'resolved' });
  assert.deepEqual(decide([resolve(a, T0 + M), resolve(b, T0 + 7 * M)], notified(all, T0 + 10 * M), T0 + 11 * M), { kind: 'done' });
});

test('resolved alerts the receiver never heard of are not sent; muted ones it heard of are', () => {
  assert.deepEqual(decide([resolve(firing('a'), T0 + S)], null, T0 + H), { kind: 'done' }, 'fired and resolved within group_wait');
  const last: NotificationLogEntry = { seq: 1, at: T0, firing: ['a'], resolved: [], acknowledged: false };
  const d = decide([firing('a'), resolve(firing('x'), T0)], last, T0 + 10 * M);
  assert.equal(d.kind, 'wait', 'x never told: no notification');
  const mutedResolved = decide([{ ...resolve(firing('a'), T0 + M), muted: true }], last, T0 + 5 * M);
  assert.equal(mutedResolved.kind === 'notify' && mutedResolved.resolved.join(), 'a', 'closing what the receiver knows');
});

test('without send_resolved, resolutions are not sent and the group ends when nothing fires', () => {
  const last: NotificationLogEntry = { seq: 1, at: T0, firing: ['a', 'b'], resolved: [], acknowledged: false };
  assert.deepEqual(decide([resolve(firing('a'), T0), firing('b')], last, T0 + 10 * M, { sendResolved: false }), {
    kind: 'wait',
    until: T0 + 4 * H,
  });
  assert.deepEqual(decide([resolve(firing('a'), T0), resolve(firing('b'), T0)], last, T0 + 10 * M, { sendResolved: false }), {
    kind: 'done',
  });
});

test('an empty group is done', () => {
  assert.deepEqual(decide([], null, T0), { kind: 'done' });
});

test('nextWakeUp: now if one notifies, else the earliest wait; null when all wait for changes', () => {
  const notify: FlushDecision = { kind: 'notify', firing: ['a'], resolved: [], acknowledged: false, seq: 1, reason: 'first' };
  assert.equal(nextWakeUp([{ kind: 'wait', until: T0 + 9 }, { kind: 'wait', until: T0 + 5 }, { kind: 'done' }], T0), T0 + 5);
  assert.equal(nextWakeUp([{ kind: 'wait', until: T0 + 9 }, notify], T0), T0);
  assert.equal(nextWakeUp([{ kind: 'wait', until: null }, { kind: 'done' }], T0), null);
  assert.equal(nextWakeUp([], T0), null);
});
