// The run's last span: when a stored change takes a run to its end (succeeded, failed,
// excluded), a `host-run end` span under the run's first one says how it ended, so the
// trace shows the outcome without the database. Ended at once, like `host-run`: a
// restarted scheduler has no span of the run's to end.
import { startSpan, type TraceSpan } from '@yixing/common';
import type { HostRunDoc } from '../db/models.ts';
import { isFinal } from '../reconcile/plan-runtime.ts';

/** The run's end as span attributes (pure): outcome, rollback, steps run, and what failed. */
export function runEndAttributes(run: HostRunDoc): Record<string, string | number> {
  return {
    'yx.host': run.hostId,
    'yx.plan': run.planId,
    'yx.run': run.runId,
    'yx.outcome': run.state,
    'yx.rollback': run.rollback,
    'yx.attempt': run.attempt,
    'yx.steps': run.history.length,
    ...(run.failure ? { 'yx.failure.step': run.failure.step, 'yx.failure.code': run.failure.code } : {}),
    ...(run.exclusionReason ? { 'yx.exclusion': run.exclusionReason } : {}),
  };
}

/**
 * Starts the `host-run end` span of a change that ends the run (undefined otherwise, or for
 * a run without a trace); the caller runs the run's end announcement in it, then ends it.
 * A failed run, and a succeeded one whose rollback failed, end as errors.
 */
export function runEndSpan(before: HostRunDoc, after: HostRunDoc): { span: TraceSpan; failure: string | undefined } | undefined {
  if (isFinal(before) || !isFinal(after) || !after.traceparent) return undefined;
  const span = startSpan('host-run end', { parent: after.traceparent, attributes: runEndAttributes(after) });
  const failure =
    after.state === 'failed'
      ? `${after.failure ? `${after.failure.step}: ${after.failure.code}` : 'failed'}${after.rollback === 'failed' ? ' (rollback failed)' : ''}`
      : after.rollback === 'failed'
        ? 'rollback failed'
        : undefined;
  return { span, failure };
}
