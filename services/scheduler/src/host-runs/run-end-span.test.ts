import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSpan } from '@yixing/common';
import { type RecordedSpans, recordSpans } from '@yixing/common/internal';
import type { HostRunDoc } from '../db/models.ts';
import { pendingRun } from './new-run.ts';
import { runEndSpan } from './run-end-span.ts';

let rec: RecordedSpans;
before(() => {
  rec = recordSpans();
});
after(() => rec.stop());

const run = (over: Partial<HostRunDoc> = {}): HostRunDoc => ({
  ...pendingRun({ planId: 'p1', hostId: 'h1', order: 0, phase: 1, cluster: 'c1', zone: 'z1', rack: 'r1' }),
  ...over,
});

describe('runEndSpan', () => {
  it('a change that ends the run: a `host-run end` span under the run, its outcome and what failed, as an error', () => {
    const root = startSpan('host-run', { parent: '' });
    root.end();
    const active = run({ state: 'active', step: 'upgrade', traceparent: root.traceparent });
    const failed = {
      ...active,
      state: 'failed' as const,
      rollback: 'failed' as const,
      failure: { step: 'upgrade' as const, kind: 'execution' as const, code: 'COMMAND_FAILED', message: 'dnf', seq: 1, at: new Date(0) },
    };
    const end = runEndSpan(active, failed);
    assert.ok(end);
    end.span.end(end.failure);
    const [span] = rec.named('host-run end');
    assert.equal(span?.parentSpanContext?.spanId, root.traceparent.split('-')[2]);
    assert.equal(span?.spanContext().traceId, root.traceparent.split('-')[1]);
    assert.equal(span?.attributes['yx.outcome'], 'failed');
    assert.equal(span?.attributes['yx.rollback'], 'failed');
    assert.equal(span?.attributes['yx.failure.code'], 'COMMAND_FAILED');
    assert.equal(span?.status.code, 2);
    assert.equal(span?.status.message, 'upgrade: COMMAND_FAILED (rollback failed)');

    const ok = runEndSpan(active, { ...active, state: 'succeeded' });
    ok?.span.end(ok.failure);
    assert.equal(ok?.failure, undefined);
    assert.equal(rec.named('host-run end')[1]?.attributes['yx.outcome'], 'succeeded');
  });

  it('no span for a change that does not end the run, for an ended run changed again, or for a run without a trace', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const active = run({ state: 'active', traceparent: tp });
    assert.equal(runEndSpan(run({ traceparent: tp }), active), undefined);
    const done = { ...active, state: 'succeeded' as const };
    assert.equal(runEndSpan(done, { ...done, version: done.version + 1 }), undefined);
    assert.equal(runEndSpan(run({ state: 'active' }), run({ state: 'succeeded' })), undefined);
  });
});
