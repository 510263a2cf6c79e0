// The engine's part of a host-run's trace: the admission span that starts it, and the
// events announced again at start, each in its run's trace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentTraceparent, recordSpans } from '@yixing/common/internal';
import type { Models } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { fakeEngineDeps, finishedRun, loadablePlans, memoryEngine, testPlan, testRun } from './engine.fixtures.ts';
import { Engine } from './engine.ts';

test("outcomes announced again at start each carry their run's trace", async () => {
  const spans = recordSpans();
  try {
    const plan = testPlan('p-reannounce', 2);
    const at = new Date();
    const outcome = { attempt: 1, dispatchedAt: at, startedAt: at, finishedAt: at, kind: null, code: '', message: '', report: '' };
    const runs = ['h0', 'h1'].map((host, i) => ({
      ...finishedRun(plan._id, host, i),
      version: 7,
      traceparent: `00-${String(i + 1).repeat(32)}-${String(i + 1).repeat(16)}-01`,
      history: [{ ...outcome, step: 'postcheck', commandId: `r${i}.0.postcheck.1`, outcome: 'succeeded' as const }],
    }));
    const models = {
      Plan: loadablePlans([plan]),
      RunState: { distinct: async () => [] },
      RunAnnounced: { find: () => ({ lean: async () => [] }), create: async () => ({}) },
    } as unknown as Models;
    const published: { host: string; traceparent: string }[] = [];
    const bus = {
      publishDurable: async (name: string, init: { hostId?: string }) => {
        if (name === 'hostRunEvent') published.push({ host: init.hostId ?? '', traceparent: currentTraceparent() });
        return {};
      },
    };
    const engine = new Engine(
      fakeEngineDeps({ models, bus, runs: { loadPlan: async () => runs, fencePlans: async () => undefined } as unknown as RunStore }),
    );
    await engine.load();
    assert.deepEqual(
      published.sort((a, b) => a.host.localeCompare(b.host)),
      runs.map((r) => ({ host: r.hostId, traceparent: r.traceparent })),
    );
    await engine.stop();
  } finally {
    await spans.stop();
  }
});

test('a taken host starts its trace with an admission span: wave, failure domains, hosts in flight', async () => {
  const spans = recordSpans();
  try {
    const T0 = Date.parse('2030-01-07T10:00:00Z');
    const plan = testPlan('p-admit', 2, { budget: 2, createdAt: new Date(T0 - 60_000) });
    const runs = [0, 1].map((i) => testRun(plan._id, `h${i}`, i, { cluster: `c${i}`, zone: 'z1', rack: `r${i}` }));
    const { engine, stored } = memoryEngine(plan, runs, T0);
    await engine.tick();
    await engine.stop();
    const admitted = spans.named('host-run');
    assert.deepEqual(
      admitted.map((s) => [s.attributes['yx.host'], s.attributes['yx.cluster'], s.attributes['yx.rack'], s.attributes['yx.in_flight']]),
      [
        ['h0', 'c0', 'r0', 0],
        ['h1', 'c1', 'r1', 1],
      ],
    );
    for (const s of admitted) {
      assert.equal(s.attributes['yx.wave'], plan.phases[0]?.name);
      assert.equal(s.attributes['yx.zone'], 'z1');
      assert.equal(s.attributes['yx.since_plan_created_ms'], 60_000);
      assert.equal(s.parentSpanContext, undefined, 'the root of the run trace');
    }
    // The stored run names that span: the steps and a restarted scheduler continue it.
    const h0 = stored.get(`${plan._id}/h0`) ?? [...stored.values()].find((r) => r.hostId === 'h0');
    assert.equal(h0?.traceparent?.split('-')[2], admitted[0]?.spanContext().spanId);
  } finally {
    await spans.stop();
  }
});
