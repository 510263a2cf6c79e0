import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureKind, Step } from '@yixing/common';
import type { HostRunDoc, StepRecord } from '../db/models.ts';
import { pendingRun } from './new-run.ts';
import { hostRunEventOf, reannouncements } from './run-events.ts';

const at = new Date(1_000);
const run = (over: Partial<HostRunDoc> = {}): HostRunDoc => ({
  ...pendingRun({ planId: 'p1', hostId: 'h1', order: 0, phase: 1, cluster: 'c1', zone: 'z1', rack: 'r1' }),
  ...over,
});
const record = (over: Partial<StepRecord>): StepRecord => ({
  step: 'upgrade',
  attempt: 1,
  commandId: 'r1.0.upgrade.1',
  dispatchedAt: at,
  startedAt: at,
  finishedAt: at,
  outcome: 'succeeded',
  kind: null,
  code: '',
  message: '',
  report: '',
  ...over,
});

describe('hostRunEventOf', () => {
  it('a failed step: its failure, the state after, the wave and failure domains; the id is the stored version', () => {
    const before = run({ state: 'active', step: 'upgrade', version: 4 });
    const failed = record({ outcome: 'failed', kind: 'timeout', code: 'STEP_TIMEOUT', message: 'no answer' });
    const after = { ...before, state: 'active' as const, rollback: 'running' as const, history: [failed], version: 5 };
    const evt = hostRunEventOf(before, after, 'wave-1', 2_000);
    assert.deepEqual(evt, {
      eventId: 'hostrun.p1.h1.5',
      hostId: 'h1',
      planId: 'p1',
      runId: after.runId,
      state: 'active',
      rollback: 'running',
      waveIndex: 1,
      waveName: 'wave-1',
      cluster: 'c1',
      zone: 'z1',
      rack: 'r1',
      atMs: 2_000,
      kind: 'step-failed',
      step: Step.UPGRADE,
      attempt: 1,
      commandId: 'r1.0.upgrade.1',
      error: { code: 'STEP_TIMEOUT', message: 'no answer', kind: FailureKind.TIMEOUT },
    });
  });

  it('a succeeded step carries no error', () => {
    const before = run({ state: 'active', version: 1 });
    const evt = hostRunEventOf(before, { ...before, history: [record({})], version: 2 }, 'canary', 1);
    assert.equal(evt?.kind, 'step-succeeded');
    assert.equal(evt?.error, undefined);
  });

  it('a new state without an outcome (an operator excluded the host) is a state event', () => {
    const before = run({ state: 'failed', version: 7 });
    const evt = hostRunEventOf(before, { ...before, state: 'excluded', version: 8 }, 'canary', 1);
    assert.equal(evt?.kind, 'state');
    assert.equal(evt?.state, 'excluded');
    assert.equal(evt?.step, undefined);
  });

  it('bookkeeping (a step started, a backup verified) publishes nothing', () => {
    const before = run({ state: 'active', version: 2 });
    assert.equal(hostRunEventOf(before, { ...before, stepState: 'running', version: 3 }, 'canary', 1), null);
    assert.equal(hostRunEventOf(before, { ...before, backupVerified: true, version: 3 }, 'canary', 1), null);
  });

  it('a message longer than the contract allows is cut to fit', () => {
    const before = run({ state: 'active', version: 1 });
    const long = record({ outcome: 'failed', kind: 'execution', code: 'X', message: 'x'.repeat(10_000) });
    const evt = hostRunEventOf(before, { ...before, history: [long], version: 2 }, 'canary', 1);
    assert.equal(evt?.error?.message?.length, 4096);
  });
});

describe('reannouncements', () => {
  const finishedAt = (ms: number) => new Date(ms);
  it('announces again the last outcome of the runs that finished one near the latest, timed as that outcome', () => {
    const early = run({
      hostId: 'h1',
      _id: 'p1/h1',
      state: 'failed',
      version: 9,
      history: [record({ outcome: 'failed', kind: 'execution', code: 'X', finishedAt: finishedAt(1_000) })],
    });
    const late = run({
      hostId: 'h2',
      _id: 'p1/h2',
      state: 'active',
      version: 4,
      history: [record({ outcome: 'failed', kind: 'timeout', code: 'T', finishedAt: finishedAt(600_000) })],
    });
    const idle = run({ hostId: 'h3', _id: 'p1/h3', state: 'pending', version: 0 });
    const events = reannouncements([early, late, idle], () => 'wave-1', 300_000);
    assert.deepEqual(
      events.map((e) => [e.hostId, e.kind, e.eventId, e.atMs]),
      [['h2', 'step-failed', 'hostrun.p1.h2.4', 600_000]],
    );
    assert.equal(reannouncements([early, late], () => '', 600_000).length, 2);
  });

  it('no run with an outcome: nothing', () => {
    assert.deepEqual(
      reannouncements([run({})], () => '', 1_000),
      [],
    );
  });
});
