// The group commit through fake models: what is inserted, in how many commands, and who is
// told what when a version, a group or a ticket is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duplicateIndexes, FencedError, StaleWriteError } from '@yixing/common';
import type { Models, RunStateDoc, RunStepDoc } from './models.ts';
import { RunCommitter } from './run-committer.ts';

/** What the driver throws for an unordered insert some of whose documents were refused. */
const BulkError = (writeErrors: { code: number; index: number }[]) => Object.assign(new Error('bulk write error'), { writeErrors });

function fakeModels(opts: { stateIds?: Set<string>; ticketIds?: Set<string>; failStates?: Error } = {}) {
  const stateIds = opts.stateIds ?? new Set<string>();
  const ticketIds = opts.ticketIds ?? new Set<string>();
  const calls: string[] = [];
  const states: RunStateDoc[] = [];
  const models = {
    RunStep: {
      insertMany: async (docs: RunStepDoc[]) => {
        calls.push(`steps ${docs.length}`);
      },
    },
    RunState: {
      insertMany: async (docs: RunStateDoc[]) => {
        calls.push(`states ${docs.length}`);
        if (opts.failStates) throw opts.failStates;
        const dups = docs.flatMap((d, index) => (stateIds.has(d._id) ? [{ code: 11000, index }] : []));
        for (const d of docs) if (!stateIds.has(d._id)) states.push(d);
        for (const d of docs) stateIds.add(d._id);
        if (dups.length > 0) throw BulkError(dups);
      },
    },
    RunTicket: {
      create: async (doc: { _id: string }) => {
        calls.push(`ticket ${doc._id}`);
        if (ticketIds.has(doc._id)) throw Object.assign(new Error('E11000 duplicate key'), { code: 11000 });
        ticketIds.add(doc._id);
      },
      findOne: () => ({ sort: () => ({ lean: async () => undefined }) }),
    },
  };
  return { models: models as unknown as Models, calls, states };
}

const state = (key: string, version: number) => ({ _id: `${key}#${version}`, key, version, planId: 'p' }) as unknown as RunStateDoc;
const step = (id: string) => ({ _id: id }) as unknown as RunStepDoc;

test('commits of one turn go in one group: one insert of records, one of versions, one ticket', async () => {
  const { models, calls, states } = fakeModels();
  const c = new RunCommitter(models, { epoch: () => 3 });
  await Promise.all([
    c.commit('p', [step('a.1')], state('p/a', 1)),
    c.commit('p', [step('b.1')], state('p/b', 1)),
    c.commit('p', [], state('p/c', 1)),
  ]);
  assert.deepEqual(calls, ['steps 2', 'states 3', 'ticket p#1']);
  assert.deepEqual(
    states.map((s) => [s._id, s.epoch, s.ticket]),
    [
      ['p/a#1', 3, 1],
      ['p/b#1', 3, 1],
      ['p/c#1', 3, 1],
    ],
  );
});

test('commits made while a group is written wait and go together in the next one', async () => {
  const { models, calls } = fakeModels();
  const c = new RunCommitter(models);
  const first = c.commit('p', [], state('p/a', 1));
  await new Promise((r) => setImmediate(r)); // the first group is being written
  const later = [c.commit('p', [], state('p/b', 1)), c.commit('p', [], state('p/c', 1))];
  await Promise.all([first, ...later]);
  assert.deepEqual(calls, ['states 1', 'ticket p#1', 'states 2', 'ticket p#2']);
});

test('a version written by someone else refuses that commit alone', async () => {
  const { models, calls } = fakeModels({ stateIds: new Set(['p/b#1']) });
  const c = new RunCommitter(models);
  const results = await Promise.allSettled([c.commit('p', [], state('p/a', 1)), c.commit('p', [], state('p/b', 1))]);
  assert.equal(results[0]?.status, 'fulfilled');
  assert.ok(results[1]?.status === 'rejected' && results[1].reason instanceof StaleWriteError);
  assert.deepEqual(calls, ['states 2', 'ticket p#1'], 'the other version is committed by the ticket');
});

test('a group whose versions fail otherwise gets no ticket: every commit of it fails', async () => {
  const { models, calls } = fakeModels({ failStates: new Error('connection reset') });
  const c = new RunCommitter(models);
  const results = await Promise.allSettled([c.commit('p', [], state('p/a', 1)), c.commit('p', [], state('p/b', 1))]);
  assert.deepEqual(
    results.map((r) => r.status === 'rejected' && (r.reason as Error).message),
    ['connection reset', 'connection reset'],
  );
  assert.deepEqual(calls, ['states 2'], 'no ticket: none of those versions counts');
});

test('a taken ticket fences the writer: its group and every later commit fail, told once', async () => {
  const fenced: FencedError[] = [];
  const { models, calls } = fakeModels({ ticketIds: new Set(['p#1']) });
  const c = new RunCommitter(models, { onFenced: (err) => fenced.push(err) });
  const results = await Promise.allSettled([c.commit('p', [], state('p/a', 1)), c.commit('p', [], state('p/b', 1))]);
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof FencedError));
  await assert.rejects(c.commit('p', [], state('p/c', 1)), FencedError);
  assert.equal(fenced.length, 1);
  assert.deepEqual(calls, ['states 2', 'ticket p#1'], 'nothing written after the fence');
});

test('an unordered insert refused only for duplicate keys names them; any other refusal is not', () => {
  assert.deepEqual(duplicateIndexes(BulkError([{ code: 11000, index: 2 }])), new Set([2]));
  assert.equal(
    duplicateIndexes(
      BulkError([
        { code: 11000, index: 2 },
        { code: 121, index: 3 },
      ]),
    ),
    undefined,
  );
  assert.equal(duplicateIndexes(new Error('x')), undefined);
});
