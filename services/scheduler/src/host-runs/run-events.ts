// What a stored change of a host-run tells the rest of the system (alerting, the console):
// a step's outcome, or a new state without one (an operator's retry, exclusion or
// resolution). Other changes (a host taken, a step started, a backup verified) are the
// scheduler's own bookkeeping and publish nothing.
import { clip, FailureKind, type HostRunEvent, type HostRunEventSchema, type MessageInitShape, stepEnum } from '@yixing/common';
import type { FailureKindName, HostRunDoc } from '../db/models.ts';

const FAILURE_KIND: Record<FailureKindName, FailureKind> = {
  execution: FailureKind.EXECUTION,
  timeout: FailureKind.TIMEOUT,
  unreachable: FailureKind.UNREACHABLE,
};

export type HostRunEventInit = MessageInitShape<typeof HostRunEventSchema> & Pick<HostRunEvent, 'eventId' | 'hostId' | 'kind'>;

/**
 * The event of `after`, stored as the next version of `before`, or null. `waveName` is the
 * name of the run's phase in its plan. The id is derived from the stored version, so the
 * stream drops a re-sent one.
 */
export function hostRunEventOf(before: HostRunDoc, after: HostRunDoc, waveName: string, atMs: number): HostRunEventInit | null {
  const outcome = after.history.length > before.history.length ? after.history.at(-1) : undefined;
  if (!outcome && before.state === after.state && before.rollback === after.rollback) return null;
  const base = {
    eventId: `hostrun.${after.planId}.${after.hostId}.${after.version}`,
    hostId: after.hostId,
    planId: after.planId,
    runId: after.runId,
    state: after.state,
    rollback: after.rollback,
    waveIndex: after.phase,
    waveName: clip('hostRunEvent', 'waveName', waveName),
    cluster: clip('hostRunEvent', 'cluster', after.cluster),
    zone: clip('hostRunEvent', 'zone', after.zone),
    rack: clip('hostRunEvent', 'rack', after.rack),
    atMs,
  };
  if (!outcome) return { ...base, kind: 'state' };
  return {
    ...base,
    kind: `step-${outcome.outcome}`,
    step: stepEnum(outcome.step),
    attempt: outcome.attempt,
    commandId: outcome.commandId,
    ...(outcome.outcome === 'failed'
      ? {
          error: {
            code: outcome.code,
            message: clip('errorInfo', 'message', outcome.message),
            kind: FAILURE_KIND[outcome.kind ?? 'execution'],
          },
        }
      : {}),
  };
}

/**
 * What a scheduler announces again when it starts: a crash may have stored a step's outcome
 * and not published its event, and alerting would never hear of that failure. The runs
 * whose last outcome came within `windowMs` of the latest stored one (the last moments of
 * the process that stopped) get their outcome's event again, timed as the outcome, so
 * what alerting applies a second time changes nothing.
 */
export function reannouncements(runs: readonly HostRunDoc[], waveName: (run: HostRunDoc) => string, windowMs: number): HostRunEventInit[] {
  const finished = runs.flatMap((run) => {
    const at = run.history.at(-1)?.finishedAt?.getTime();
    return at === undefined ? [] : [{ run, at }];
  });
  const latest = Math.max(...finished.map((f) => f.at));
  return finished
    .filter((f) => f.at >= latest - windowMs)
    .flatMap(({ run, at }) => {
      const evt = hostRunEventOf({ ...run, history: run.history.slice(0, -1) }, run, waveName(run), at);
      return evt ? [evt] : [];
    });
}
