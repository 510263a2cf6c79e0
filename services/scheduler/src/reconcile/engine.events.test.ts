// A step's outcome whose write is refused as stale while its run still awaits it: the
// version it met never counted (its own earlier try, cut off with the store before the
// ticket). The event must come again, not be acked and lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StaleWriteError, type StepEvent, StepPhase } from '@yixing/common';
import type { HostRunDoc } from '../db/models.ts';
import { activeRun, fakeEngineDeps, testPlan, testRun } from './engine.fixtures.ts';
import { Engine } from './engine.ts';

test('an outcome refused as stale while its run still awaits it is applied again, not dropped', async () => {
  const plan = testPlan('p-stale', 1);
  const run = activeRun(testRun(plan._id, 'h1', 0), { step: 'reboot' });
  const stored = new Map<string, HostRunDoc>();
  let commits = 0;
  const runs = {
    commit: async (before: HostRunDoc, after: HostRunDoc) => {
      // The first try meets the version its cut-off twin wrote without a ticket.
      if (++commits === 1) throw new StaleWriteError(`run ${before._id}: version ${before.version + 1} was written by someone else`);
      const next = { ...after, version: before.version + 1 };
      stored.set(next._id, next);
      return next;
    },
    // What the store reads back: the run as it was, its next write after the uncounted version.
    loadRun: async () => ({ ...run, version: run.version + 1 }),
  };
  const engine = new Engine(fakeEngineDeps({ runs }));
  engine.addPlan(plan, [run]);
  const evt = {
    runId: run.runId,
    hostId: run.hostId,
    commandId: run.commandId,
    phase: StepPhase.SUCCEEDED,
    kindToken: 'succeeded',
    atMs: Date.now(),
    message: '',
    reportJson: '',
  } as unknown as StepEvent;

  await assert.rejects(engine.applyStepEvent(evt), { code: 'OUTCOME_NOT_STORED', retryable: true });
  await engine.applyStepEvent(evt);
  const after = stored.get(run._id);
  assert.equal(after?.step, 'postcheck', 'the reboot outcome was stored the second time');
  assert.equal(after?.version, run.version + 2, 'written after the uncounted version');
  // A replay of the same event now changes nothing and is not an error.
  await engine.applyStepEvent(evt);
  assert.equal(commits, 2);
});
