// A host-run's step graph, pure: the run's forward path and its recovery (a rollback, the
// undrain after it) as nodes with a state each, from the run's history and the step in
// flight; where they sit (left to right, wrapping on a narrow screen); how long each took.

import type { StepName } from '@yixing/common';
import type { RunView } from '@yixing/scheduler';

export type { RunView, StepName };
export type StepRecordView = RunView['history'][number];

export const NODE_STATES = ['pending', 'running', 'succeeded', 'failed', 'rolled-back', 'skipped'] as const;
export type NodeState = (typeof NODE_STATES)[number];

export interface StepNode {
  /** The step's name on the forward path; `recovery-<step>` for a rollback or the undrain after it. */
  id: string;
  step: StepName;
  recovery: boolean;
  state: NodeState;
  /** The step in flight's progress (0–100), if it reports one. */
  percent: number | null;
  /** Attempts recorded (a retried step has more than one). */
  attempts: number;
  /** The step's last record: its outcome, code, message, report and times. */
  last: StepRecordView | null;
  /** How long the last attempt took; null when it has not finished. */
  durationMs: number | null;
}

/** The fields of a run the graph is drawn from. */
export type RunSteps = Pick<RunView, 'path' | 'history' | 'state' | 'step' | 'stepState' | 'percent' | 'failure' | 'rollback'>;

/**
 * The records of the run's latest try: a retried run starts its path again, so a record of
 * the path's first step that follows a record of another step opens a new try (deferrals
 * repeat the first step and stay in one).
 */
export function latestTry(history: readonly StepRecordView[], first: StepName | undefined): StepRecordView[] {
  let start = 0;
  for (let i = 1; i < history.length; i++) {
    if (history[i]?.step === first && history[i - 1]?.step !== first) start = i;
  }
  return history.slice(start);
}

const time = (at: Date | string | null): number | null => (at === null ? null : new Date(at).getTime());

function durationOf(r: StepRecordView | null): number | null {
  const from = time(r?.startedAt ?? r?.dispatchedAt ?? null);
  const to = time(r?.finishedAt ?? null);
  return from === null || to === null || to < from ? null : to - from;
}

/**
 * Splits the latest try into forward records and recovery records. A forward step repeats
 * itself (another attempt) or moves to the next step of the path; anything else (a
 * rollback, an undrain that skips ahead after a failure) is recovery, and so is all after.
 */
function splitRecords(run: RunSteps): { forward: StepRecordView[]; recovery: StepRecordView[]; position: number } {
  const forward: StepRecordView[] = [];
  const recovery: StepRecordView[] = [];
  let position = -1;
  for (const r of latestTry(run.history, run.path[0])) {
    const at = run.path.indexOf(r.step);
    if (recovery.length === 0 && at >= 0 && (at === position || at === position + 1)) {
      forward.push(r);
      position = at;
    } else recovery.push(r);
  }
  return { forward, recovery, position };
}

const isFinal = (run: RunSteps): boolean => run.state === 'succeeded' || run.state === 'failed' || run.state === 'excluded';

/** The nodes of a run's graph, forward path first, then its recovery steps in the order they ran. */
export function stepNodes(run: RunSteps): StepNode[] {
  const { forward, recovery, position } = splitRecords(run);
  const inFlight = run.state === 'active' && run.step !== null && run.stepState !== null ? run.step : null;
  const at = inFlight === null ? -1 : run.path.indexOf(inFlight);
  const forwardInFlight =
    inFlight !== null &&
    recovery.length === 0 &&
    (run.failure === null || run.failure.step === inFlight) &&
    (at === position || at === position + 1);
  const recoveryInFlight = inFlight !== null && !forwardInFlight ? inFlight : null;
  // A held run waits for an operator who may retry the failed step: the steps after it are
  // still to come, not skipped.
  const failedForGood = run.failure !== null && run.state !== 'held';
  const stopped = isFinal(run) || failedForGood || recovery.length > 0 || recoveryInFlight !== null;
  const upgradeAt = run.path.indexOf('upgrade');

  const nodes: StepNode[] = run.path.map((step, i) => {
    const records = forward.filter((r) => r.step === step);
    const last = records.at(-1) ?? null;
    let state: NodeState;
    if (forwardInFlight && inFlight === step) state = 'running';
    else if (last?.outcome === 'succeeded') {
      // The rollback put the system back as it was before the upgrade: what the upgrade and
      // the steps after it did is undone (an undrain's workloads stay where they are).
      const undone = run.rollback === 'succeeded' && upgradeAt >= 0 && i >= upgradeAt && step !== 'undrain' && step !== 'postcheck';
      state = undone ? 'rolled-back' : 'succeeded';
    } else if (last?.outcome === 'failed') state = 'failed';
    else state = stopped ? 'skipped' : 'pending';
    return {
      id: step,
      step,
      recovery: false,
      state,
      percent: state === 'running' ? run.percent : null,
      attempts: records.length,
      last,
      durationMs: state === 'running' ? null : durationOf(last),
    };
  });

  const recoverySteps: StepName[] = [];
  for (const r of recovery) if (!recoverySteps.includes(r.step)) recoverySteps.push(r.step);
  if (recoveryInFlight && !recoverySteps.includes(recoveryInFlight)) recoverySteps.push(recoveryInFlight);
  for (const step of recoverySteps) {
    const records = recovery.filter((r) => r.step === step);
    const last = records.at(-1) ?? null;
    const running = recoveryInFlight === step && (last === null || last.outcome !== 'succeeded' || recoverySteps.at(-1) === step);
    const state: NodeState = running
      ? 'running'
      : last?.outcome === 'succeeded'
        ? 'succeeded'
        : last?.outcome === 'failed'
          ? 'failed'
          : 'pending';
    nodes.push({
      id: `recovery-${step}`,
      step,
      recovery: true,
      state,
      percent: running ? run.percent : null,
      attempts: records.length,
      last,
      durationMs: running ? null : durationOf(last),
    });
  }
  return nodes;
}

/** Whether the run still changes (worth asking again soon). */
export const runIsLive = (run: Pick<RunView, 'state' | 'rollback'>): boolean =>
  run.state === 'active' || run.state === 'pending' || run.state === 'held' || run.rollback === 'running';

/** The node a deep link's step opens: its failed node, else the last one that ran, else the first of that step. */
export function nodeForStep(nodes: readonly StepNode[], step: string): StepNode | undefined {
  const of = nodes.filter((n) => n.step === step);
  return of.find((n) => n.state === 'failed') ?? of.findLast((n) => n.last !== null || n.state === 'running') ?? of[0];
}

export interface Placement {
  id: string;
  x: number;
  y: number;
}

export const NODE_WIDTH = 150;
export const NODE_HEIGHT = 74;
const GAP_X = 40;
const GAP_Y = 40;

/** How many nodes fit in a row of the given width (at least one). */
export const columnsFor = (width: number): number => Math.max(1, Math.floor((width + GAP_X) / (NODE_WIDTH + GAP_X)));

/**
 * Where each node sits: the forward path left to right in rows of `columns`, the recovery
 * steps on a row below, starting under the step where the run failed.
 */
export function layoutNodes(nodes: readonly StepNode[], columns: number): Placement[] {
  const forward = nodes.filter((n) => !n.recovery);
  const recovery = nodes.filter((n) => n.recovery);
  const cols = Math.max(1, columns);
  const out: Placement[] = forward.map((n, i) => ({
    id: n.id,
    x: (i % cols) * (NODE_WIDTH + GAP_X),
    y: Math.floor(i / cols) * (NODE_HEIGHT + GAP_Y),
  }));
  const rows = Math.ceil(forward.length / cols);
  const from = forward.findIndex((n) => n.state === 'failed');
  const startCol = Math.min(Math.max(0, from < 0 ? 0 : from % cols), Math.max(0, cols - recovery.length));
  recovery.forEach((n, i) => {
    const slot = startCol + i;
    out.push({
      id: n.id,
      x: (slot % cols) * (NODE_WIDTH + GAP_X),
      y: (rows + Math.floor(slot / cols)) * (NODE_HEIGHT + GAP_Y),
    });
  });
  return out;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** The step it leads to never ran (skipped or pending). */
  idle: boolean;
}

/** Edges in order along the forward path, and from the step where recovery began through the recovery steps. */
export function graphEdges(nodes: readonly StepNode[]): GraphEdge[] {
  const edges: GraphEdge[] = [];
  const link = (a: StepNode, b: StepNode): void => {
    edges.push({ id: `${a.id}->${b.id}`, source: a.id, target: b.id, idle: b.state === 'pending' || b.state === 'skipped' });
  };
  const forward = nodes.filter((n) => !n.recovery);
  const recovery = nodes.filter((n) => n.recovery);
  for (let i = 1; i < forward.length; i++) link(forward[i - 1] as StepNode, forward[i] as StepNode);
  const from = forward.find((n) => n.state === 'failed') ?? forward.findLast((n) => n.last !== null);
  let prev = from;
  for (const n of recovery) {
    if (prev) link(prev, n);
    prev = n;
  }
  return edges;
}

/** A duration as [value, unit] pairs, largest unit first (Intl formats each in the page's language). */
export function durationParts(ms: number): [number, 'hour' | 'minute' | 'second' | 'millisecond'][] {
  if (ms < 1000) return [[Math.max(0, Math.round(ms)), 'millisecond']];
  if (ms < 60_000) return [[Math.round(ms / 100) / 10, 'second']];
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0)
    return m > 0
      ? [
          [h, 'hour'],
          [m, 'minute'],
        ]
      : [[h, 'hour']];
  return sec > 0
    ? [
        [m, 'minute'],
        [sec, 'second'],
      ]
    : [[m, 'minute']];
}

/** A duration in words of the language: "2.3 sec", "1 min 5 sec", "2.3秒". */
export function durationText(ms: number, language: string): string {
  return durationParts(ms)
    .map(([value, unit]) => new Intl.NumberFormat(language, { style: 'unit', unit, unitDisplay: 'short' }).format(value))
    .join(' ');
}

/** What a step's report (JSON) says of the backup and the rollback strategy, when it says it. */
export interface RunFacts {
  backupId: string | null;
  backupBytes: number | null;
  rollbackStrategy: string | null;
}

const parse = (report: string): Record<string, unknown> | null => {
  try {
    const v: unknown = JSON.parse(report);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

export function runFacts(history: readonly StepRecordView[]): RunFacts {
  const lastReport = (step: StepName) => {
    const r = history.findLast((h) => h.step === step && h.outcome === 'succeeded' && h.report);
    return r ? parse(r.report) : null;
  };
  const backup = lastReport('backup')?.backup as { id?: unknown; sizeBytes?: unknown } | undefined;
  const rollback = lastReport('precheck')?.rollback as { chosen?: unknown; driver?: unknown } | undefined;
  const chosen = typeof rollback?.chosen === 'string' ? rollback.chosen : null;
  return {
    backupId: typeof backup?.id === 'string' ? backup.id : null,
    backupBytes: typeof backup?.sizeBytes === 'number' ? backup.sizeBytes : null,
    rollbackStrategy: chosen && typeof rollback?.driver === 'string' ? `${chosen} (${rollback.driver})` : chosen,
  };
}
