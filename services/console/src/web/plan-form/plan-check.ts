// Checks a plan body as POST /v1/plans does: the scheduler's PlanSpec validator (compiled
// at build time by the API's compiler) and the API's wording of its first error
// (describeValidation: `body.limits.maxInFlight`, `must be >= 1`).

import validate from 'virtual:plan-spec-validator';
import { describeValidation } from '@yixing/common/api-errors';

export interface PlanProblem {
  /** As the API names it: `body.limits.maxInFlight`. */
  field: string;
  /** The API's reason, in English. */
  reason: string;
  /** ajv's keyword and parameters, for a reason in the user's language. */
  keyword: string;
  params: Record<string, unknown>;
}

/** The first problem the API would answer with, or null when it would accept the body's shape. */
export function checkPlan(body: unknown): PlanProblem | null {
  if (validate(body)) return null;
  const e = validate.errors?.[0];
  if (!e) return null;
  return { ...describeValidation('body', e), keyword: e.keyword, params: e.params };
}
