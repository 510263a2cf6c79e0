// A plan's host list, in process without servers: a plan that just ended is listed from
// its final runtime while its runs are compacted, never from the store the compaction is
// rewriting (a page of 250 took over 120 s there at 10,000 hosts on FerretDB's SQLite).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixedApiAccess, newApiToken } from '@yixing/common/http';
import { finishedRun, testPlan } from '../reconcile/engine.fixtures.ts';
import { PlanRuntime } from '../reconcile/plan-runtime.ts';
import { buildApi } from './server.ts';

const admin = newApiToken();
const access = fixedApiAccess([{ token: admin, name: 'admin', role: 'admin' }]);

test("an ending plan's hosts page from its final runtime, not from the store", async () => {
  const plan = { ...testPlan('p-ending', 5), state: 'completed' as const };
  const rt = new PlanRuntime(
    plan,
    Array.from({ length: 5 }, (_, i) => finishedRun(plan._id, `h${i}`, i, i === 3 ? 'failed' : 'succeeded')),
  );
  const storeReads: string[] = [];
  const api = await buildApi({
    registry: { contentType: 'text/plain', metrics: async () => '' },
    access,
    engine: { runtime: () => undefined, endingRuntime: (id: string) => (id === plan._id ? rt : undefined) },
    runs: {
      pagePlan: async (id: string) => {
        storeReads.push(id);
        return { runs: [], more: false };
      },
    },
    models: { Plan: { exists: async () => ({ _id: plan._id }) } },
  } as unknown as Parameters<typeof buildApi>[0]);
  try {
    const get = async (url: string) => {
      const res = await api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${admin}` } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { hosts: { hostId: string; state: string }[]; nextCursor: string | null };
    };
    const first = await get(`/v1/plans/${plan._id}/hosts?limit=2`);
    assert.deepEqual(
      first.hosts.map((h) => h.hostId),
      ['h0', 'h1'],
    );
    assert.ok(first.nextCursor);
    const rest = await get(`/v1/plans/${plan._id}/hosts?limit=10&cursor=${first.nextCursor}`);
    assert.deepEqual(
      rest.hosts.map((h) => h.hostId),
      ['h2', 'h3', 'h4'],
    );
    assert.equal(rest.nextCursor, null);
    const failed = await get(`/v1/plans/${plan._id}/hosts?state=failed`);
    assert.deepEqual(
      failed.hosts.map((h) => `${h.hostId}:${h.state}`),
      ['h3:failed'],
    );
    assert.deepEqual(storeReads, [], 'the store was read');
    // Once compacted (no runtime left), the store answers.
    await get('/v1/plans/p-other/hosts');
    assert.deepEqual(storeReads, ['p-other']);
  } finally {
    await api.close();
  }
});
