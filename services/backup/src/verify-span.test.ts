// A backup's verification in the host-run's trace: `backup verify` under whatever span
// is active (the commit's receipt), its phases under it, a failed check as an error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSpan } from '@yixing/common';
import { type RecordedSpans, recordSpans } from '@yixing/common/internal';
import { inVerifySpan, outcomeOfDoc } from './verify-span.ts';

let rec: RecordedSpans;
before(() => {
  rec = recordSpans();
});
after(() => rec.stop());

const doc = { _id: 'b1', hostId: 'h1', runId: 'r1', planId: 'p1', sizeBytes: 4096 };
const ended = (state: 'verified' | 'failed', reason = '') => ({ state, reason, storedBytes: 4200, packageCount: 312 });

test('a verified backup: the verify span under the receipt, the upload and store phases under it, what was stored', async () => {
  const receipt = startSpan('backupCommit receive', { parent: '', kind: 'consumer' });
  await receipt.run(() =>
    inVerifySpan(
      doc,
      'commit',
      async (phases) => {
        await phases.phase('backup upload', async () => 'sha');
        await phases.phase('backup store', async () => 4200);
        return ended('verified');
      },
      outcomeOfDoc,
    ),
  );
  receipt.end();
  const [verify] = rec.named('backup verify');
  assert.ok(verify);
  assert.equal(verify.parentSpanContext?.spanId, receipt.traceparent.split('-')[2]);
  assert.equal(verify.status.code, 0);
  assert.equal(verify.attributes['yx.backup.state'], 'verified');
  assert.equal(verify.attributes['yx.backup.packages'], 312);
  assert.equal(verify.attributes['yx.backup.bytes'], 4096);
  assert.deepEqual(
    rec.childrenOf(verify).map((s) => s.name),
    ['backup upload', 'backup store'],
  );
});

test("a failed check ends the span as an error with the catalog's reason; a phase that throws fails itself and the check", async () => {
  await inVerifySpan(doc, 'commit', async () => ended('failed', 'checksum: uploaded archive has SHA-256 00'), outcomeOfDoc);
  const failed = rec.named('backup verify').at(-1);
  assert.equal(failed?.status.code, 2);
  assert.equal(failed?.status.message, 'checksum: uploaded archive has SHA-256 00');

  await assert.rejects(
    inVerifySpan(
      doc,
      'commit',
      (phases) =>
        phases.phase('backup store', async () => {
          throw new Error('store unavailable');
        }),
      outcomeOfDoc,
    ),
    /store unavailable/,
  );
  const store = rec.named('backup store').at(-1);
  assert.equal(store?.status.message, 'store unavailable');
  assert.equal(rec.named('backup verify').at(-1)?.status.message, 'store unavailable');
});
