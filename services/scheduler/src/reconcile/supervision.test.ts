// Supervision of steps in flight, on a fake clock: deadlines, agents that never
// acknowledge, re-sends, lost heartbeats, and the reboot that is allowed to go quiet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostRunDoc } from '../db/models.ts';
import { activeRun, testRun } from './engine.fixtures.ts';
import { type SentCommand, type SupervisionContext, supervise } from './supervision.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const limits = { heartbeatGraceMs: 30_000, unreachableAfterMs: 60_000, redispatchMs: 5_000 };
const ctx = (now: number, over: Partial<SupervisionContext> = {}): SupervisionContext => ({
  now,
  startedAt: T0,
  limits,
  isAlive: () => true,
  ...over,
});
const run = (over: Partial<HostRunDoc> = {}): HostRunDoc => activeRun(testRun('p', 'h1', 0), over, T0);
const dispatching = (over: Partial<HostRunDoc> = {}): HostRunDoc => run({ stepState: 'dispatching', stepStartedAt: null, ...over });
const sent = (over: Partial<SentCommand> = {}): SentCommand => ({
  firstSentAt: T0,
  lastSentAt: T0,
  acked: false,
  inFlight: false,
  ...over,
});

test('a step past its deadline fails as a timeout (retried by the step policy)', () => {
  const r = run({ deadlineAt: new Date(T0 + 1_000) });
  assert.deepEqual(supervise(r, sent({ acked: true }), ctx(T0 + 1_000)), { kind: 'fine' }, 'at the deadline');
  assert.deepEqual(supervise(r, sent({ acked: true }), ctx(T0 + 1_001)), {
    kind: 'fail',
    failure: 'timeout',
    code: 'STEP_DEADLINE',
    message: 'no outcome from the agent before the upgrade deadline',
  });
});

test('the deadline applies to a reboot too, and before anything else', () => {
  const r = run({ step: 'reboot', deadlineAt: new Date(T0) });
  assert.equal(supervise(r, undefined, ctx(T0 + 1, { isAlive: () => false })).kind, 'fail');
});

test('a command no agent acknowledged within unreachableAfterMs fails the step as unreachable', () => {
  const r = dispatching();
  assert.deepEqual(supervise(r, sent({ lastSentAt: T0 + 58_000 }), ctx(T0 + 60_000)), { kind: 'fine' }, 'not yet');
  assert.deepEqual(supervise(r, sent({ lastSentAt: T0 + 58_000 }), ctx(T0 + 60_001)), {
    kind: 'fail',
    failure: 'unreachable',
    code: 'AGENT_UNREACHABLE',
    message: 'no agent acknowledged upgrade within 60000 ms',
  });
});

test('unacknowledged time counts from the first send, however late the decision was stored and sent', () => {
  // Decided at T0; the store was down, so the command went out 30 s later, and again at 35 s.
  const r = dispatching({ dispatchedAt: new Date(T0) });
  assert.deepEqual(supervise(r, undefined, ctx(T0 + 90_000)), { kind: 'send', again: false }, 'never sent: sent, not failed');
  const late = sent({ firstSentAt: T0 + 30_000, lastSentAt: T0 + 35_000 });
  assert.deepEqual(supervise(r, late, ctx(T0 + 61_000)), { kind: 'send', again: true }, 'within the limit of its first send');
  assert.deepEqual(supervise(r, late, ctx(T0 + 90_000)), { kind: 'send', again: true });
  assert.equal(supervise(r, late, ctx(T0 + 90_001)).kind, 'fail', 'a minute after the first send');
});

test('unacknowledged time counts from this scheduler’s start, not from a dispatch before it', () => {
  const r = dispatching({ dispatchedAt: new Date(T0 - 3_600_000) });
  assert.deepEqual(supervise(r, undefined, ctx(T0 + 1_000)), { kind: 'send', again: false }, 'sent by the new process first');
  assert.equal(supervise(r, sent(), ctx(T0 + 60_001)).kind, 'fail');
});

test('a reboot is never failed as unreachable for want of an acknowledgement or a heartbeat', () => {
  const r = dispatching({ step: 'reboot' });
  assert.notEqual(supervise(r, sent(), ctx(T0 + 600_000)).kind, 'fail');
  const running = run({ step: 'reboot' });
  assert.deepEqual(supervise(running, sent({ acked: true }), ctx(T0 + 600_000, { isAlive: () => false })), { kind: 'fine' });
});

test('an unacknowledged command is sent again every redispatchMs, never while a send is in flight', () => {
  const r = dispatching();
  assert.deepEqual(supervise(r, undefined, ctx(T0)), { kind: 'send', again: false }, 'not sent by this process');
  assert.deepEqual(supervise(r, sent(), ctx(T0 + 4_999)), { kind: 'fine' });
  assert.deepEqual(supervise(r, sent(), ctx(T0 + 5_000)), { kind: 'send', again: true });
  assert.deepEqual(supervise(r, sent({ inFlight: true }), ctx(T0 + 50_000)), { kind: 'fine' }, 'a send still waiting');
  assert.deepEqual(supervise(r, sent({ acked: true }), ctx(T0 + 50_000)), { kind: 'fine' }, 'acknowledged');
});

test('a host that stopped heartbeating during its step fails as unreachable', () => {
  const r = run();
  assert.deepEqual(supervise(r, sent({ acked: true }), ctx(T0 + 1_000, { isAlive: () => false })), {
    kind: 'fail',
    failure: 'unreachable',
    code: 'HEARTBEAT_LOST',
    message: 'no heartbeat for 30000 ms during upgrade',
  });
  assert.deepEqual(supervise(r, sent({ acked: true }), ctx(T0 + 1_000)), { kind: 'fine' });
});

test('an upgrade waiting for its backup asks the backup service', () => {
  assert.deepEqual(supervise(run({ stepState: 'awaiting-backup' }), undefined, ctx(T0)), { kind: 'ask-backup' });
});

test('runs not in a step are left alone', () => {
  assert.deepEqual(supervise(testRun('p', 'h1', 0), undefined, ctx(T0)), { kind: 'fine' });
  assert.deepEqual(supervise(run({ state: 'held', deadlineAt: new Date(T0) }), undefined, ctx(T0 + 1)), { kind: 'fine' });
});

test('an acknowledgement is a sign of life: a step acknowledged within the grace is not failed for want of a heartbeat', () => {
  // An agent back from a partition acknowledges the command sent again before its first heartbeat arrives.
  const r = run();
  const dead = { isAlive: () => false };
  assert.deepEqual(supervise(r, sent({ acked: true, ackedAt: T0 + 900 }), ctx(T0 + 1_000, dead)), { kind: 'fine' });
  assert.deepEqual(supervise(r, sent({ acked: true, ackedAt: T0 + 900 }), ctx(T0 + 30_900, dead)), { kind: 'fine' }, 'at the grace');
  assert.equal(supervise(r, sent({ acked: true, ackedAt: T0 + 900 }), ctx(T0 + 30_901, dead)).kind, 'fail', 'silent since');
});
