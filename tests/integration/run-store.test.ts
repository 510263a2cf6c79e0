// The insert-only run store: the next version of a run is written once; a stale or
// replayed writer is refused and changes nothing; a plan's runs read back at their latest
// version with their history, before and after compaction.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectDb, ensureIndexes, StaleWriteError } from '@yixing/common';
import { type HostRunDoc, type Models, pendingRun, RunStore, registerModels } from '@yixing/scheduler/internal';
import type { Connection } from 'mongoose';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';

let mongo: MongoFixture;
let conn: Connection;
let models: Models;
let store: RunStore;

before(async () => {
  mongo = await startMongo();
  conn = await connectDb({ uri: mongo.uri('run_store'), appName: 'test' });
  models = registerModels(conn);
  await ensureIndexes(conn);
  store = new RunStore(models);
});

after(async () => {
  await conn?.close();
  await mongo?.stop();
});

const run = (hostId: string): HostRunDoc => ({
  ...pendingRun({ planId: 'p1', hostId, order: 0, phase: 0, cluster: 'c1', zone: 'z1', rack: 'r1' }),
  runId: `r-${hostId}`,
});

test('versions are written once; a stale writer is refused and changes nothing', async () => {
  const v0 = run('h1');
  await store.insertNew([v0, run('h2')]);
  const taken: HostRunDoc = { ...v0, state: 'active', step: 'precheck', commandId: 'r-h1.0.precheck.1', stepState: 'dispatching' };
  const v1 = await store.commit(v0, taken);
  assert.equal(v1.version, 1);

  const now = new Date();
  const record = {
    step: 'precheck' as const,
    attempt: 1,
    commandId: 'r-h1.0.precheck.1',
    dispatchedAt: now,
    startedAt: now,
    finishedAt: now,
    outcome: 'succeeded' as const,
    kind: null,
    code: '',
    message: '',
    report: '{}',
  };
  const v2 = await store.commit(v1, { ...v1, state: 'succeeded', step: null, stepState: null, history: [record] });
  assert.equal(v2.version, 2);

  // A replay of the first transition (the writer still holds version 0) is refused.
  await assert.rejects(store.commit(v0, { ...v0, state: 'failed' }), StaleWriteError);
  // So is a second writer that read version 1 and records the same step again.
  await assert.rejects(store.commit(v1, { ...v1, state: 'failed', history: [record] }), StaleWriteError);

  const runs = await store.loadPlan('p1');
  const h1 = runs.find((r) => r.hostId === 'h1');
  assert.equal(h1?.state, 'succeeded');
  assert.equal(h1?.version, 2);
  assert.deepEqual(
    h1?.history.map((h) => h.commandId),
    ['r-h1.0.precheck.1'],
  );
  assert.equal(await models.RunStep.countDocuments({ key: 'p1/h1' }), 1, 'the step was recorded once');
  assert.equal(runs.find((r) => r.hostId === 'h2')?.version, 0);

  await store.compact('p1', runs);
  await store.compact('p1', runs);
  assert.equal(await models.RunState.countDocuments({ planId: 'p1' }), 0);
  const archived = await store.loadPlan('p1');
  assert.deepEqual(archived.map((r) => `${r.hostId}:${r.state}:${r.version}:${r.history.length}`).sort(), [
    'h1:succeeded:2:1',
    'h2:pending:0:0',
  ]);
  assert.equal((await store.loadRun('p1/h1'))?.state, 'succeeded');
  assert.equal((await store.loadHost('h1')).length, 1);
});

test('compaction drops only the versions of runs whose final state is archived', async () => {
  const hosts = ['h1', 'h2', 'h3'];
  const v0 = hosts.map((h) => ({ ...run(h), planId: 'p2', _id: `p2/${h}` }));
  await store.insertNew(v0);
  const finals = await Promise.all(v0.map((r) => store.commit(r, { ...r, state: 'succeeded' })));

  // h3's archive insert is refused (its final state does not fit the schema): the others
  // are archived, h3 keeps its versions and the compaction says it is incomplete.
  const refused = finals.map((r) => (r.hostId === 'h3' ? { ...r, dispatchedAt: 'not a date' as never } : r));
  const outcome = await store.compact('p2', refused).then(
    () => 'completed',
    (err: Error & { code?: string }) => err.code,
  );
  const h3 = await store.loadRun('p2/h3');
  assert.equal(`${h3?.state}:${h3?.version}`, 'succeeded:1', "h3's final state survives");
  assert.equal(await models.RunState.countDocuments({ planId: 'p2', key: 'p2/h3' }), 2, "h3's versions are kept");
  assert.equal(await models.RunState.countDocuments({ planId: 'p2', key: { $ne: 'p2/h3' } }), 0, 'the archived runs are compacted');
  assert.equal(outcome, 'RUN_ARCHIVE_INCOMPLETE');

  // The next compaction (at start) finishes it.
  await store.compact('p2', await store.loadPlan('p2'));
  assert.equal(await models.RunState.countDocuments({ planId: 'p2' }), 0);
  assert.deepEqual((await store.loadPlan('p2')).map((r) => `${r.hostId}:${r.state}:${r.version}`).sort(), [
    'h1:succeeded:1',
    'h2:succeeded:1',
    'h3:succeeded:1',
  ]);
});

test('a leader that takes over fences the deposed one: its late writes are refused or do not count', async () => {
  const fencedBy: string[] = [];
  const old = new RunStore(models, { epoch: () => 7, onFenced: (err) => fencedBy.push(err.code) });
  const next = new RunStore(models, { epoch: () => 8 });
  const pending = { ...run('f1'), planId: 'pf', _id: 'pf/f1' };
  await old.insertNew([pending, { ...run('f2'), planId: 'pf', _id: 'pf/f2' }]);
  // Written and committed before the take-over: it counts.
  const v1 = await old.commit(pending, { ...pending, state: 'active', step: 'precheck', commandId: 'c1', stepState: 'dispatching' });

  await next.fencePlans(['pf']);
  const loaded = await next.loadPlan('pf');
  assert.equal(loaded.find((r) => r.hostId === 'f1')?.state, 'active');

  // The deposed leader writes on, as a paused process would when it wakes.
  await assert.rejects(old.commit(v1, { ...v1, state: 'failed', step: null, stepState: null }), { code: 'FENCED' });
  assert.deepEqual(fencedBy, ['FENCED']);
  // Fenced once, it writes nothing more.
  const f2 = loaded.find((r) => r.hostId === 'f2') as HostRunDoc;
  await assert.rejects(old.commit(f2, { ...f2, state: 'active' }), { code: 'FENCED' });

  // Its version was stored but does not count; the next write follows it.
  const after = await next.loadPlan('pf');
  const f1 = after.find((r) => r.hostId === 'f1') as HostRunDoc;
  assert.equal(f1.state, 'active');
  assert.equal(f1.version, 2, 'the refused version 2 is stored: the next write is 3');
  assert.equal(after.find((r) => r.hostId === 'f2')?.state, 'pending');
  assert.equal((await next.loadRun('pf/f1'))?.state, 'active');
  const page = await next.pagePlan('pf', { limit: 10 });
  assert.deepEqual(
    page.runs.map((r) => `${r.hostId}:${r.state}`),
    ['f1:active', 'f2:pending'],
  );

  // The new leader writes on from there.
  const v3 = await next.commit(f1, { ...f1, state: 'succeeded', step: null, stepState: null });
  assert.equal(v3.version, 3);
  assert.equal((await next.loadRun('pf/f1'))?.state, 'succeeded');
});

test('a version whose ticket never came (its writer died in between) does not count', async () => {
  const store8 = new RunStore(models, { epoch: () => 8 });
  const v0 = { ...run('g1'), planId: 'pg', _id: 'pg/g1' };
  await store8.insertNew([v0]);
  const { _id, history, ...rest } = { ...v0, state: 'failed' as const };
  await models.RunState.create({ ...rest, _id: `${_id}#1`, key: _id, version: 1, epoch: 8, ticket: 42 });
  const r = await store8.loadRun('pg/g1');
  assert.equal(r?.state, 'pending');
  assert.equal(r?.version, 1);
  assert.equal(history.length, 0);
});

test('a step record whose state version never counted is not history: the run still waits for it', async () => {
  const store9 = new RunStore(models, { epoch: () => 9 });
  const commandId = 'r-k1.0.reboot.1';
  const v0: HostRunDoc = { ...run('k1'), planId: 'pk', _id: 'pk/k1', state: 'active', step: 'reboot', stepState: 'running', commandId };
  await store9.insertNew([v0]);
  const at = new Date();
  const rec = { step: 'reboot' as const, attempt: 1, commandId, dispatchedAt: at, startedAt: at, finishedAt: at };
  const done = { ...rec, outcome: 'succeeded' as const, kind: null, code: '', message: '', report: '' };
  // The outcome's try: its step record and its version written, the ticket never.
  await models.RunStep.create({ ...done, _id: commandId, key: v0._id, planId: 'pk', hostId: 'k1', runId: v0.runId });
  const { _id, history: _h, ...rest } = { ...v0, step: 'postcheck' as const, commandId: 'r-k1.0.postcheck.1' };
  await models.RunState.create({ ...rest, _id: `${_id}#1`, key: _id, version: 1, epoch: 9, ticket: 77 });
  const r = await store9.loadRun('pk/k1');
  assert.equal(r?.step, 'reboot');
  assert.equal(r?.version, 1, 'the next write follows the uncounted version');
  assert.deepEqual(r?.history, [], 'the orphan record is not history');
  // Written again, the outcome counts and its record is history once.
  const stored = await store9.commit(r as HostRunDoc, { ...rest, _id, history: [done] } as HostRunDoc);
  assert.equal(stored.version, 2);
  const back = await store9.loadRun('pk/k1');
  assert.equal(back?.step, 'postcheck');
  assert.deepEqual(
    back?.history.map((h) => h.commandId),
    [commandId],
  );
});
