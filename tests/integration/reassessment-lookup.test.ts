// The lookup behind reassess: changed, against the real store: each host's latest precheck
// that answered (ready or inhibited) with the digest it assessed, the same whether the
// hosts are asked for by id or found in one pass over the prechecks.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectDb, ensureIndexes } from '@yixing/common';
import { lastAssessments, type Models, registerModels } from '@yixing/scheduler/internal';
import type { Connection } from 'mongoose';
import { type MongoFixture, startMongo } from '../fixtures/mongo.ts';

let mongo: MongoFixture;
let conn: Connection;
let models: Models;

const record = (host: string, plan: string, at: number, over: Record<string, unknown> = {}) => ({
  _id: `${plan}.${host}.precheck.${at}`,
  key: `${plan}/${host}`,
  planId: plan,
  hostId: host,
  runId: `r-${plan}-${host}`,
  step: 'precheck',
  attempt: 1,
  commandId: `${plan}.${host}.precheck.${at}`,
  dispatchedAt: new Date(at),
  startedAt: new Date(at),
  finishedAt: new Date(at),
  outcome: 'succeeded',
  kind: null,
  code: '',
  message: '',
  report: '{}',
  factsDigest: `d-${host}-${plan}`,
  ...over,
});

before(async () => {
  mongo = await startMongo();
  conn = await connectDb({ uri: mongo.uri('reassessment'), appName: 'test' });
  models = registerModels(conn);
  await ensureIndexes(conn);
  await models.RunStep.insertMany([
    record('h1', 'p1', 1000),
    record('h1', 'p2', 2000),
    record('h2', 'p1', 1000, { outcome: 'failed', code: 'PRECHECK_INHIBITED' }),
    record('h2', 'p2', 3000, { outcome: 'failed', code: 'AGENT_UNREACHABLE', kind: 'unreachable' }),
    record('h3', 'p1', 1000, { factsDigest: undefined }),
    { ...record('h4', 'p1', 1000), step: 'backup', _id: 'b', commandId: 'b' },
  ]);
});

after(async () => {
  await conn?.close();
  await mongo?.stop();
});

test('the latest answered precheck per host, by id or in one pass', async () => {
  const hosts = ['h1', 'h2', 'h3', 'h4', 'h5'];
  for (const byIdUpTo of [500, 1]) {
    const last = await lastAssessments(models, hosts, byIdUpTo);
    assert.deepEqual(
      Object.fromEntries([...last].map(([h, a]) => [h, `${a.planId} ${a.factsDigest}`])),
      // h2's later precheck never answered (unreachable); h3's reported no digest; h4 has no precheck.
      { h1: 'p2 d-h1-p2', h2: 'p1 d-h2-p1' },
      `byIdUpTo ${byIdUpTo}`,
    );
  }
  assert.equal((await lastAssessments(models, ['h1'], 0)).size, 1, 'one pass keeps only the hosts asked for');
  assert.equal((await lastAssessments(models, ['h9'], 0)).size, 0);
});
