import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changesHost, nextAfter, type Outcome, type RunShape } from './transitions.ts';

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

const DRAINED_PATH = ['cluster-check', 'precheck', 'drain', 'backup', 'upgrade', 'reboot', 'undrain', 'postcheck'] as const;
const shape = (over: Partial<RunShape> = {}): RunShape => ({
  path: DRAINED_PATH,
  recovering: false,
  drained: false,
  rollback: 'none',
  ...over,
});

test('a host with workloads drains before its backup and gets them back before the postcheck', () => {
  assert.deepEqual(nextAfter(ok('precheck'), policy, shape()), { kind: 'dispatch', step: 'drain', attempt: 1, failed: false });
  assert.deepEqual(nextAfter(ok('drain'), policy, shape({ drained: true })), {
    kind: 'dispatch',
    step: 'backup',
    attempt: 1,
    failed: false,
  });
  assert.deepEqual(nextAfter(ok('reboot'), policy, shape({ drained: true })), {
    kind: 'dispatch',
    step: 'undrain',
    attempt: 1,
    failed: false,
  });
  assert.deepEqual(nextAfter(ok('undrain'), policy, shape({ drained: true })), {
    kind: 'dispatch',
    step: 'postcheck',
    attempt: 1,
    failed: false,
  });
  assert.deepEqual(nextAfter(ok('postcheck'), policy, shape({ drained: true })), { kind: 'succeeded' });
});

test('drained workloads come back after every failure: before the upgrade at once, after it behind the rollback', () => {
  const drained = shape({ drained: true });
  const undrain = { kind: 'dispatch', step: 'undrain', attempt: 1, failed: true };
  assert.deepEqual(nextAfter(fail('drain'), policy, drained), undrain, 'a drain that failed half way is undone');
  assert.deepEqual(nextAfter(fail('backup'), policy, drained), undrain);
  assert.deepEqual(nextAfter(fail('upgrade'), policy, drained), { kind: 'dispatch', step: 'rollback', attempt: 1, failed: true });
  assert.deepEqual(
    nextAfter(fail('undrain'), policy, drained),
    { kind: 'dispatch', step: 'rollback', attempt: 1, failed: true },
    'a workload that does not come back on the new system rolls it back',
  );
  assert.deepEqual(nextAfter(ok('rollback'), policy, shape({ drained: true, recovering: true, rollback: 'running' })), {
    ...undrain,
    rollback: 'succeeded',
  });
  assert.deepEqual(nextAfter(ok('undrain'), policy, shape({ drained: true, recovering: true, rollback: 'succeeded' })), {
    kind: 'failed',
    rollback: 'succeeded',
  });
  assert.deepEqual(nextAfter(ok('undrain'), policy, shape({ drained: true, recovering: true })), { kind: 'failed', rollback: 'none' });
  assert.deepEqual(
    nextAfter(fail('undrain'), policy, shape({ drained: true, recovering: true, rollback: 'succeeded' })),
    { kind: 'failed', rollback: 'succeeded' },
    'an undrain is not tried again by another route',
  );
  assert.deepEqual(
    nextAfter(fail('rollback'), policy, shape({ drained: true, recovering: true })),
    { kind: 'failed', rollback: 'failed' },
    'after a failed rollback nothing is started on the host',
  );
  assert.deepEqual(
    nextAfter(fail('backup'), policy, shape()),
    { kind: 'failed', rollback: 'none' },
    'nothing drained: nothing to bring back',
  );
});

test('single operations and assessments follow their own paths', () => {
  const assess = shape({ path: ['precheck'] });
  assert.deepEqual(nextAfter(ok('precheck'), policy, assess), { kind: 'succeeded' });
  assert.deepEqual(nextAfter(fail('precheck'), policy, assess), { kind: 'failed', rollback: 'none' });
  const backup = shape({ path: ['precheck', 'backup'] });
  assert.deepEqual(nextAfter(ok('backup'), policy, backup), { kind: 'succeeded' });
  const rollbackOp = shape({ path: ['drain', 'rollback', 'undrain'] });
  assert.deepEqual(
    nextAfter(ok('rollback'), policy, { ...rollbackOp, drained: true }),
    { kind: 'dispatch', step: 'undrain', attempt: 1, failed: false },
    'a rollback asked for is the way forward',
  );
  assert.deepEqual(nextAfter(ok('undrain'), policy, { ...rollbackOp, drained: true }), { kind: 'succeeded' });
  assert.deepEqual(nextAfter(fail('rollback'), policy, { ...rollbackOp, drained: true }), { kind: 'failed', rollback: 'failed' });
  assert.deepEqual(nextAfter(fail('undrain'), policy, { ...rollbackOp, drained: true }), { kind: 'failed', rollback: 'none' });
  assert.equal(changesHost('postcheck', ['precheck', 'backup']), false);
  assert.equal(changesHost('undrain', DRAINED_PATH), true);
  assert.equal(changesHost('drain', DRAINED_PATH), false);
});
