// Taking a plan out of the engine undoes everything adding it did, and hosts held for a
// plan whose creation is not settled are busy for every other plan.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostRunDoc } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { fakeEngineDeps, testPlan, testRun } from './engine.fixtures.ts';
import { Engine } from './engine.ts';

function engineRecordingCommits(): { engine: Engine; committed: string[] } {
  const committed: string[] = [];
  const runs = {
    commit: async (before: HostRunDoc, after: HostRunDoc) => {
      committed.push(after._id);
      return { ...after, version: before.version + 1 };
    },
  } as unknown as RunStore;
  return { engine: new Engine(fakeEngineDeps({ runs })), committed };
}

test('a removed plan frees its hosts: another plan takes them', async () => {
  const { engine, committed } = engineRecordingCommits();
  const a = testPlan('p-a', 1);
  const active = testRun(a._id, 'h1', 0, {
    state: 'active',
    step: 'upgrade',
    attempt: 1,
    commandId: 'c-1',
    stepState: 'running',
    deadlineAt: new Date(Date.now() + 3_600_000),
    slots: [{ takenSeq: 1, takenAt: new Date(), releasedSeq: null, releasedAt: null }],
  });
  engine.addPlan(a, [active]);
  engine.removePlan(a._id);
  assert.equal(engine.livePlanOf('h1'), null);
  assert.equal(engine.runtime(a._id), undefined);

  const b = testPlan('p-b', 1);
  engine.addPlan(b, [testRun(b._id, 'h1', 0)]);
  await engine.tick();
  await engine.stop();
  assert.deepEqual(committed, ['p-b/h1'], 'plan b took h1: nothing of plan a still occupies it');
});

test('hosts held for an unsettled plan are busy until released or the plan is added', () => {
  const engine = new Engine(fakeEngineDeps());
  engine.holdHosts('p-unsure', ['h1', 'h2']);
  assert.equal(engine.livePlanOf('h1'), 'p-unsure');
  assert.equal(engine.livePlanOf('h3'), null);
  engine.releaseHosts('p-unsure');
  assert.equal(engine.livePlanOf('h1'), null);

  engine.holdHosts('p-unsure', ['h1']);
  const plan = testPlan('p-unsure', 1);
  engine.addPlan(plan, [testRun(plan._id, 'h1', 0)]);
  engine.removePlan(plan._id);
  assert.equal(engine.livePlanOf('h1'), null, 'adding the plan took over its hold; removing it left nothing');
});

test('a taken host is sent its first step only once its take is stored, however many ticks pass meanwhile', async () => {
  let release!: () => void;
  const stored = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sent: string[] = [];
  const runs = {
    commit: async (before: HostRunDoc, after: HostRunDoc) => {
      await stored;
      return { ...after, version: before.version + 1 };
    },
  } as unknown as RunStore;
  const bus = {
    publishDurable: async () => ({}),
    request: async (_route: string, cmd: { commandId: string }) => {
      sent.push(cmd.commandId);
      return { accepted: true };
    },
  };
  let now = Date.now();
  const engine = new Engine(fakeEngineDeps({ runs, bus, clock: () => now }));
  const plan = testPlan('p-slow', 1);
  engine.addPlan(plan, [testRun(plan._id, 'h1', 0)]);
  await engine.tick();
  // Ticks past the re-dispatch interval (5 s), short of giving the host up (60 s), while the store is slow.
  for (let i = 0; i < 5; i++) {
    now += 6_000;
    await engine.tick();
  }
  assert.deepEqual(sent, [], 'nothing sent before the take is stored');
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(sent.length, 1);
});
