import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextAfter, type Outcome } from './transitions.ts';

const policy = { retries: { 'cluster-check': 2, upgrade: 1 }, onFailure: 'rollback' as const };
const ok = (step: Outcome['step']): Outcome => ({ step, attempt: 1, ok: true, retryable: false, kind: null });
const fail = (step: Outcome['step'], extra: Partial<Outcome> = {}): Outcome => ({
  step,
  attempt: 1,
  ok: false,
  retryable: false,
  kind: 'execution',
  ...extra,
});

test('success walks the migration forward and ends after postcheck', () => {
  assert.deepEqual(nextAfter(ok('cluster-check'), policy), { kind: 'dispatch', step: 'precheck', attempt: 1, failed: false });
  assert.deepEqual(nextAfter(ok('upgrade'), policy), { kind: 'dispatch', step: 'reboot', attempt: 1, failed: false });
  assert.deepEqual(nextAfter(ok('postcheck'), policy), { kind: 'succeeded' });
  assert.deepEqual(nextAfter(ok('rollback'), policy), { kind: 'failed', rollback: 'succeeded' });
});

test('failures before the host changes never roll back; after, they do (or hold)', () => {
  assert.deepEqual(nextAfter(fail('precheck'), policy), { kind: 'failed', rollback: 'none' });
  assert.deepEqual(nextAfter(fail('backup'), policy), { kind: 'failed', rollback: 'none' });
  assert.deepEqual(nextAfter(fail('reboot'), policy), { kind: 'dispatch', step: 'rollback', attempt: 1, failed: true });
  assert.deepEqual(nextAfter(fail('postcheck'), { ...policy, onFailure: 'hold' }), { kind: 'held' });
  assert.deepEqual(nextAfter(fail('rollback'), policy), { kind: 'failed', rollback: 'failed' });
});

test('retries: timeouts, unreachable hosts and retryable errors, up to the limit', () => {
  assert.deepEqual(nextAfter(fail('upgrade', { kind: 'timeout' }), policy), {
    kind: 'dispatch',
    step: 'upgrade',
    attempt: 2,
    failed: false,
  });
  assert.deepEqual(nextAfter(fail('upgrade', { kind: 'timeout', attempt: 2 }), policy), {
    kind: 'dispatch',
    step: 'rollback',
    attempt: 1,
    failed: true,
  });
  assert.deepEqual(
    nextAfter(fail('upgrade'), policy),
    { kind: 'dispatch', step: 'rollback', attempt: 1, failed: true },
    'execution failures are not retried',
  );
  assert.deepEqual(nextAfter(fail('cluster-check', { retryable: true, attempt: 2 }), policy), {
    kind: 'dispatch',
    step: 'cluster-check',
    attempt: 3,
    failed: false,
  });
  assert.deepEqual(
    nextAfter(fail('cluster-check', { retryable: true, attempt: 3 }), policy),
    { kind: 'defer' },
    'a cluster that stays unready defers the host',
  );
});
