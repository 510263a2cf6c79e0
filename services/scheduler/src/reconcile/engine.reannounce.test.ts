// A started engine announces the last moments' outcomes again (a crash may have lost their
// events); each goes out in its run's trace, as the first announcement did, so what
// alerting makes of it lands in that trace too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentTraceparent, recordSpans } from '@yixing/common/internal';
import type { Models } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { fakeEngineDeps, finishedRun, testPlan } from './engine.fixtures.ts';
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
      Plan: { find: () => ({ lean: async () => [plan] }) },
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
    const engine = new Engine(fakeEngineDeps({ models, bus, runs: { loadPlan: async () => runs } as unknown as RunStore }));
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
