// A plan's canary and waves as a flow, pure: each phase's node (its counts, its state in
// words, whether it is the open one) from the plan view the server sends, and where the
// nodes sit in a flow read left to right that wraps onto more rows on a narrow screen.

import type { PlanView } from '@yixing/scheduler';

export type { PlanView };
export type PhaseView = PlanView['phases'][number];
export type RunState = keyof PhaseView['states'];

/** The run states a phase's counts are shown in, in the order they are listed. */
export const RUN_STATES = ['pending', 'active', 'held', 'succeeded', 'failed', 'excluded'] as const satisfies readonly RunState[];
// A run state the scheduler adds and this list lacks fails the type check here.
const everyState: Exclude<RunState, (typeof RUN_STATES)[number]> extends never ? true : never = true;
void everyState;

/**
 * pending: not admitted yet; open: admitted, nothing moving (waiting for a gate, paused,
 * or no hosts to take); running: hosts in flight; done: every host final.
 */
export const PHASE_STATES = ['pending', 'open', 'running', 'done'] as const;
export type PhaseState = (typeof PHASE_STATES)[number];

export interface PhaseNode {
  index: number;
  /** The canary is phase 0; every later phase is a wave. */
  kind: 'canary' | 'wave';
  /** The wave's number (1 for the first wave); 0 for the canary. */
  wave: number;
  size: number;
  started: number;
  inFlight: number;
  failed: number;
  final: number;
  states: Record<RunState, number>;
  state: PhaseState;
  /** The phase hosts are admitted from now (the plan's open phase, while the plan is live). */
  current: boolean;
  /** The gate before this phase waits for approval. */
  gated: boolean;
}

const FINISHED: ReadonlySet<string> = new Set(['completed', 'aborted']);

export function phaseState(p: Pick<PhaseView, 'index' | 'size' | 'final' | 'inFlight'>, openPhase: number): PhaseState {
  if (p.size > 0 && p.final >= p.size) return 'done';
  if (p.inFlight > 0) return 'running';
  if (p.index > openPhase) return 'pending';
  // Admitted and nothing in flight: an empty phase behind the open one is passed.
  return p.size === 0 && p.index < openPhase ? 'done' : 'open';
}

export function phaseNodes(plan: Pick<PlanView, 'phases' | 'openPhase' | 'state' | 'gate'>): PhaseNode[] {
  const live = !FINISHED.has(plan.state);
  return plan.phases.map((p) => ({
    index: p.index,
    kind: p.index === 0 ? 'canary' : 'wave',
    wave: p.index,
    size: p.size,
    started: p.started,
    inFlight: p.inFlight,
    failed: p.failed,
    final: p.final,
    states: { ...p.states },
    state: phaseState(p, plan.openPhase),
    current: live && p.index === plan.openPhase,
    gated: live && plan.gate !== null && plan.gate.phase === p.index && plan.state === 'waiting-approval',
  }));
}

export const NODE_MIN_WIDTH = 220;
const GAP = 40;

/** How many nodes fit on a row `width` px wide (at least one). */
export const flowColumns = (width: number): number => Math.max(1, Math.floor((width + GAP) / (NODE_MIN_WIDTH + GAP)));

export interface FlowCell {
  /** Row and column in the grid, from 0. */
  row: number;
  column: number;
  /** How the flow leaves this node: to the right on its row, down to the next row's start, or not (the last). */
  next: 'right' | 'wrap' | 'end';
}

/** Where `count` nodes sit on rows of `columns`, read left to right, row after row. */
export function flowLayout(count: number, columns: number): FlowCell[] {
  const cols = Math.max(1, Math.floor(columns));
  return Array.from({ length: count }, (_, i) => ({
    row: Math.floor(i / cols),
    column: i % cols,
    next: i === count - 1 ? 'end' : i % cols === cols - 1 ? 'wrap' : 'right',
  }));
}
