// A plan's progress, as pure functions: whether it ends (completed, aborted), halts (error
// budget exhausted), passes the canary gate (an approval, or a soak), or opens its next
// wave. docs/error-budget.md states the rules; the engine stores what is decided.
import type { PlanDoc, PlanState } from '../db/models.ts';
import type { PlanRuntime } from './plan-runtime.ts';

export type PlanView = Pick<PlanRuntime, 'plan' | 'counters' | 'phases'>;

export type PlanStep =
  | { kind: 'none' }
  /** The plan moves to `state` (with `changes` to its document). */
  | { kind: 'state'; state: PlanState; reason: string; changes?: Partial<PlanDoc> }
  /** The plan document changes without a state change; `event` is published. */
  | { kind: 'save'; changes: Partial<PlanDoc>; event: { kind: string; message: string } };

const NONE: PlanStep = { kind: 'none' };

/**
 * What the plan does next at `now`. `announcing`: some run's end is not announced yet; a
 * plan ends (and is compacted, out of the engine's view) only once every one was.
 */
export function nextPlanStep(view: PlanView, now: number, announcing: boolean): PlanStep {
  const { plan: p, counters: c } = view;
  const allDone = c.succeeded + c.failed + c.excluded === c.total;
  if (announcing && (p.state === 'aborting' || allDone)) return NONE;
  if (p.state === 'aborting') return c.active === 0 ? { kind: 'state', state: 'aborted', reason: p.stateReason || 'aborted' } : NONE;
  if (allDone)
    return {
      kind: 'state',
      state: 'completed',
      reason:
        c.failures > 0
          ? `${c.failures} of ${c.total} hosts failed`
          : c.excluded > 0
            ? `every host migrated but the ${c.excluded} excluded`
            : 'every host migrated',
    };
  if (p.state !== 'running') return NONE;
  const exhausted = budgetExhausted(view);
  if (exhausted) return { kind: 'state', state: 'budget-exhausted', reason: exhausted };
  if (p.gate?.mode === 'auto') {
    if (p.gate.soakUntil && now >= p.gate.soakUntil.getTime())
      return {
        kind: 'save',
        changes: { openPhase: p.gate.phase, gate: null },
        event: { kind: 'promoted', message: `soak over, ${p.phases[p.gate.phase]?.name ?? ''} opened` },
      };
    return NONE;
  }
  if (p.gate || p.openPhase >= p.phases.length - 1) return NONE;
  const open = view.phases[p.openPhase];
  // The next wave opens once every host of the open one has started.
  if (!open || open.started < open.size) return NONE;
  if (p.openPhase > 0)
    return {
      kind: 'save',
      changes: { openPhase: p.openPhase + 1 },
      event: { kind: 'wave-started', message: `${p.phases[p.openPhase + 1]?.name ?? ''} opened` },
    };
  // The canary gate: every canary host finished, then an approval or a soak.
  if (open.final < open.size) return NONE;
  const failed = open.failed;
  const promotion = p.spec.promotion;
  if (failed > 0 || promotion.mode === 'manual') {
    const reason =
      failed > 0
        ? `canary: ${failed} of ${open.size} hosts failed; approve to go on or abort`
        : 'canary succeeded; approve to start wave 1';
    return {
      kind: 'state',
      state: 'waiting-approval',
      reason,
      changes: { gate: { phase: 1, mode: 'manual', since: new Date(now), soakUntil: null, reason } },
    };
  }
  const soakUntil = new Date(now + promotion.soakSeconds * 1000);
  return {
    kind: 'save',
    changes: { gate: { phase: 1, mode: 'auto', since: new Date(now), soakUntil, reason: 'canary succeeded; soaking' } },
    event: { kind: 'soaking', message: `canary succeeded; wave 1 starts at ${soakUntil.toISOString()}` },
  };
}

/**
 * Why the plan may start no more hosts, if its error budget (or an open wave's) is
 * exhausted while hosts still wait: failures reached the budget (F = B).
 */
export function budgetExhausted(view: PlanView): string | undefined {
  const { plan, counters: c } = view;
  if (c.pending === 0) return undefined;
  if (c.failures >= plan.budget) return `error budget exhausted: ${c.failures} of ${plan.budget} failures allowed`;
  for (let i = 0; i <= plan.openPhase; i++) {
    const ph = view.phases[i];
    const doc = plan.phases[i];
    if (!ph || !doc) continue;
    const phasePending = ph.size - ph.started > 0;
    if (phasePending && ph.failed >= ph.budget) return `${doc.name} error budget exhausted: ${ph.failed} of ${ph.budget} failures allowed`;
  }
  return undefined;
}
