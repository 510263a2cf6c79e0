// Reassessing only what changed: a host whose facts digest (what the assessment reads:
// release, packages, repositories, roles) equals the one its last precheck assessed keeps
// that assessment. The decision is pure; the lookup reads the hosts' latest prechecks.
import type { QueryFilter } from 'mongoose';
import type { Models, RunStepDoc } from '../db/models.ts';

export interface LastAssessment {
  planId: string;
  factsDigest: string;
  at: Date;
}

/** Why a host need not be assessed again, or undefined when it must be. Pure. */
export function unchangedSince(currentDigest: string | undefined, last: LastAssessment | undefined): string | undefined {
  if (!currentDigest || !last || last.factsDigest !== currentDigest) return undefined;
  return `facts unchanged since its assessment in plan ${last.planId} (${last.at.toISOString()})`;
}

const BATCH = 500;

/**
 * Each host's latest precheck that ran to an answer (ready or inhibited), with the digest it
 * assessed. A few hosts are asked for by id; many in one pass over the prechecks (on
 * FerretDB v1 every query but one by _id scans the collection, so batches would scan it
 * once each).
 */
export async function lastAssessments(
  models: Models,
  hostIds: readonly string[],
  /** Up to how many hosts are asked for by id (tests lower it to take the other path). */
  byIdUpTo = BATCH,
): Promise<Map<string, LastAssessment>> {
  const out = new Map<string, LastAssessment>();
  const wanted = new Set(hostIds);
  const answered: QueryFilter<RunStepDoc> = {
    step: 'precheck',
    $or: [{ outcome: 'succeeded' }, { code: 'PRECHECK_INHIBITED' }],
    factsDigest: { $exists: true, $ne: '' },
  };
  const fields = { hostId: 1, planId: 1, factsDigest: 1, finishedAt: 1 };
  const take = (d: { hostId: string; planId: string; factsDigest?: string; finishedAt: Date | null }): void => {
    if (!wanted.has(d.hostId)) return;
    const at = d.finishedAt ?? new Date(0);
    const seen = out.get(d.hostId);
    if (!seen || seen.at < at) out.set(d.hostId, { planId: d.planId, factsDigest: d.factsDigest ?? '', at });
  };
  if (hostIds.length > byIdUpTo) {
    for await (const d of models.RunStep.find(answered, fields).lean().cursor()) take(d);
    return out;
  }
  for (const d of await models.RunStep.find({ ...answered, hostId: { $in: [...hostIds] } }, fields).lean()) take(d);
  return out;
}
