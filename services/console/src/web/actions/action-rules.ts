// Which actions a caller may take on a plan and on one host's run, and if not, why (a
// catalog key under actions.why). The scheduler decides (its operator actions answer 409
// and 403); these mirror its preconditions so the page does not offer what it would refuse:
// services/scheduler/src/reconcile/operator-actions.ts and route-roles.ts. Pure.

import type { Role } from '@yixing/common/http';
import type { PlanView, RunView } from '@yixing/scheduler';

export const PLAN_ACTIONS = ['pause', 'resume', 'approve', 'retry-failed', 'abort'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

export const HOST_ACTIONS = ['retry', 'rollback', 'exclude'] as const;
export type HostAction = (typeof HOST_ACTIONS)[number];

/** Why an action is not offered: a key of actions.why. */
export type Refusal =
  | 'role'
  | 'signingIn'
  | 'finished'
  | 'aborting'
  | 'notRunning'
  | 'notPaused'
  | 'noGate'
  | 'noFailed'
  | 'notHeld'
  | 'notPending';

export type Offer = { allowed: true } | { allowed: false; why: Refusal };

const yes: Offer = { allowed: true };
const no = (why: Refusal): Offer => ({ allowed: false, why });

/** Every route that changes a plan needs operator at least (route-roles.ts). */
const roleRefusal = (role: Role | null): Offer | null =>
  role === null ? no('signingIn') : role === 'operator' || role === 'admin' ? null : no('role');

const FINAL: readonly PlanView['state'][] = ['completed', 'aborted'];

export function planActionsFor(state: PlanView['state'], gate: PlanView['gate'], role: Role | null, failed = 0): Record<PlanAction, Offer> {
  const byRole = roleRefusal(role);
  const rule = (offer: Offer): Offer => (FINAL.includes(state) ? no('finished') : (byRole ?? offer));
  return {
    pause: rule(state === 'running' || state === 'waiting-approval' ? yes : no('notRunning')),
    resume: rule(state === 'paused' || state === 'budget-exhausted' ? yes : no('notPaused')),
    approve: rule(state === 'waiting-approval' && gate ? yes : no('noGate')),
    'retry-failed': rule(state === 'aborting' ? no('aborting') : failed > 0 ? yes : no('noFailed')),
    abort: rule(state === 'aborting' ? no('aborting') : yes),
  };
}

export function hostActionsFor(run: Pick<RunView, 'state' | 'failure'>, role: Role | null): Record<HostAction, Offer> {
  const byRole = roleRefusal(role);
  const held = run.state === 'held' && run.failure !== null ? yes : no('notHeld');
  return {
    retry: byRole ?? held,
    rollback: byRole ?? held,
    exclude: byRole ?? (run.state === 'pending' ? yes : no('notPending')),
  };
}

/** Creating a plan (POST /v1/plans) needs operator too. */
export const createPlanOffer = (role: Role | null): Offer => roleRefusal(role) ?? yes;

/** Actions that cannot be undone: the confirmation asks to type the plan's name or the host's id. */
export const DESTRUCTIVE: ReadonlySet<PlanAction | HostAction> = new Set(['abort', 'rollback', 'exclude']);
