// A backup's verification as spans: `backup verify` around the whole check (a child of
// the slot's receipt, where it starts, or of the commit's when that runs it: in the
// host-run's trace either way), with `backup upload` (the agent's pieces read as they
// arrive, hashed, scanned and written, sealed if a key is set) and `backup store` (what
// the store recorded, checked) under it. A backup the check fails ends the span as an error with the
// catalog's reason; an error that is not the backup's fault (the store unavailable) too.
import { startSpan } from '@yixing/common';
import type { BackupDoc } from './catalog/backup.model.ts';

/** Which check: a commit's verification of an upload, or a verified backup read again (the API's). */
export type VerifyKind = 'commit' | 'reread';

export interface VerifyPhases {
  /** Runs one phase of the check in a child span. */
  phase<T>(name: 'backup upload' | 'backup store', fn: () => Promise<T>): Promise<T>;
}

/** How a check ended, for its span: the failure (absent when the backup holds) and what it found. */
export interface VerifyOutcome {
  failure?: string;
  attributes?: Record<string, string | number>;
}

/** A commit's outcome from the document it leaves (pure): failed with the catalog's reason, or what was stored. */
export function outcomeOfDoc(d: Pick<BackupDoc, 'state' | 'reason' | 'storedBytes' | 'packageCount'>): VerifyOutcome {
  return {
    ...(d.state === 'failed' ? { failure: d.reason || 'failed' } : {}),
    attributes: { 'yx.backup.state': d.state, 'yx.backup.stored_bytes': d.storedBytes, 'yx.backup.packages': d.packageCount },
  };
}

/** Runs a check of `doc` in a `backup verify` span, ended as `outcome` reads its result (or the error it threw). */
export async function inVerifySpan<T>(
  doc: Pick<BackupDoc, '_id' | 'hostId' | 'runId' | 'planId' | 'sizeBytes'>,
  kind: VerifyKind,
  fn: (phases: VerifyPhases) => Promise<T>,
  outcome: (result: T) => VerifyOutcome,
): Promise<T> {
  const span = startSpan('backup verify', {
    attributes: {
      'yx.backup': doc._id,
      'yx.host': doc.hostId,
      'yx.run': doc.runId,
      'yx.plan': doc.planId,
      'yx.backup.check': kind,
      'yx.backup.bytes': doc.sizeBytes,
    },
  });
  const phases: VerifyPhases = {
    phase: (name, phaseFn) =>
      span.run(async () => {
        const child = startSpan(name, { attributes: { 'yx.backup': doc._id } });
        try {
          const r = await child.run(phaseFn);
          child.end();
          return r;
        } catch (err) {
          child.end((err as Error).message);
          throw err;
        }
      }),
  };
  try {
    const result = await span.run(() => fn(phases));
    const o = outcome(result);
    if (o.attributes) span.set(o.attributes);
    span.end(o.failure);
    return result;
  } catch (err) {
    span.end((err as Error).message);
    throw err;
  }
}
