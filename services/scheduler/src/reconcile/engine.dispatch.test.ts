// A take stored late (the store down for longer than the acknowledgement wait) is sent
// once stored, and its agent then has the whole wait to acknowledge it: CI's FerretDB
// restart test saw a backup failed as unreachable 0.3 s after its agent had started it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostRunDoc } from '../db/models.ts';
import { fakeEngineDeps, memoryPlanModel, testPlan, testRun } from './engine.fixtures.ts';
import { defaultEngineConfig, Engine } from './engine.ts';

const T0 = Date.parse('2030-01-07T10:00:00Z');
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

test('a take stored late is sent then, and failed as unreachable only a full wait after that send', async () => {
  const plan = testPlan('p-late', 1);
  const clock = { now: T0 };
  let release: () => void = () => {};
  const storeDown = new Promise<void>((r) => {
    release = r;
  });
  let commits = 0;
  const runs = {
    commit: async (before: HostRunDoc, after: HostRunDoc) => {
      if (commits++ === 0) await storeDown;
      return { ...after, version: before.version + 1 };
    },
    loadRun: async () => undefined,
    compact: async () => undefined,
  };
  const sent: { at: number; what: string }[] = [];
  const bus = {
    publishDurable: async () => ({}),
    // The agent never acknowledges.
    request: (_route: string, cmd: { action: { case: string } }) => {
      sent.push({ at: clock.now, what: cmd.action.case });
      return new Promise(() => {});
    },
  };
  const Plan = memoryPlanModel(plan);
  const { unreachableAfterMs } = defaultEngineConfig;
  const engine = new Engine(
    fakeEngineDeps({ models: { Plan, RunAnnounced: { create: async () => ({}) } }, runs, bus, clock: () => clock.now }),
  );
  const run = testRun(plan._id, 'h0', 0);
  engine.addPlan(plan, [run]);

  await engine.tick();
  clock.now = T0 + unreachableAfterMs + 5_000;
  await engine.tick();
  assert.equal(sent.length, 0, 'nothing sent while the take is not stored');

  release();
  await settle();
  const firstSend = clock.now;
  assert.deepEqual(sent, [{ at: firstSend, what: 'runStep' }], 'sent once stored');

  clock.now = firstSend + 1_000;
  await engine.tick();
  await settle();
  const current = () => engine.runtime(plan._id)?.run(run._id);
  const command = current()?.commandId;
  assert.equal(current()?.stepState, 'dispatching', 'not failed: its agent has had a second');
  assert.ok(!sent.some((s) => s.what === 'cancelStep'));

  clock.now = firstSend + unreachableAfterMs + 1;
  await engine.tick();
  await settle();
  assert.ok(
    sent.some((s) => s.what === 'cancelStep'),
    'a full wait after the first send, the step is failed and cancelled',
  );
  assert.notEqual(current()?.commandId, command, 'the step failed (and is tried again under another command)');
});
