import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Step } from '@yixing/common';
import type { HostRunDoc } from '../db/models.ts';
import { pendingRun } from '../host-runs/new-run.ts';
import { operationChangeOf, operationEventOf, operationStateOf } from './operation-events.ts';

const op = { capability: 'upgrade' as const, hostId: 'h1', callbackUrl: '', backupId: 'b1', continuesRunId: 'r0' };
const plan = { _id: 'op-20261206abcdef', operation: op };
const run = (over: Partial<HostRunDoc> = {}): HostRunDoc => ({
  ...pendingRun({ planId: plan._id, hostId: 'h1', order: 0, phase: 0, cluster: '', zone: '', rack: '' }),
  backupId: 'b1',
  ...over,
});

test('an operation is queued, running, then succeeded or failed, as its run', () => {
  assert.equal(operationStateOf(run()), 'queued');
  assert.equal(operationStateOf(run({ state: 'active' })), 'running');
  assert.equal(operationStateOf(run({ state: 'held' })), 'running', 'held for an operator: not over');
  assert.equal(operationStateOf(run({ state: 'succeeded' })), 'succeeded');
  assert.equal(operationStateOf(run({ state: 'excluded' })), 'failed');
  assert.equal(operationStateOf(run({ state: 'succeeded' }), false), 'running', 'over only once its plan ended and the host is free');
});

test('only a change of the operation state is announced, once per state, with the failure', () => {
  const active = run({ state: 'active', step: 'upgrade' });
  assert.equal(operationChangeOf(plan, active, { ...active, step: 'reboot' }, 1), null, 'a step within running is not a change');
  assert.equal(operationChangeOf({ _id: 'p-1' }, run(), active, 1), null, 'a plan without an operation');
  const started = operationChangeOf(plan, run(), active, 1);
  assert.equal(started?.eventId, 'op.op-20261206abcdef.running');
  assert.equal(started?.step, Step.UPGRADE);
  const failed = run({
    state: 'failed',
    rollback: 'succeeded',
    failure: { step: 'upgrade', kind: 'execution', code: 'UPGRADE_FAILED', message: 'apt said no', seq: 3, at: new Date(0) },
  });
  assert.equal(operationChangeOf(plan, active, failed, 2), null, 'the end is announced when the plan ends');
  const evt = operationEventOf(plan, op, failed, 2, true);
  assert.equal(evt.eventId, 'op.op-20261206abcdef.failed');
  assert.equal(evt?.state, 'failed');
  assert.equal(evt?.error?.code, 'UPGRADE_FAILED');
  assert.equal(evt?.backupId, 'b1');
  assert.equal(evt?.capability, 'upgrade');
});
