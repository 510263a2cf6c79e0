// Reassessing only what changed: a host whose facts digest (what the assessment reads:
// release, packages, repositories, roles) equals the one its last precheck assessed keeps
// that assessment. The decision is pure; the lookup reads the hosts' latest prechecks.
import type { Models } from '../db/models.ts';

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

/** Each host's latest precheck that ran to an answer (ready or inhibited), with the digest it assessed. */
export async function lastAssessments(models: Models, hostIds: readonly string[]): Promise<Map<string, LastAssessment>> {
  const out = new Map<string, LastAssessment>();
  for (let i = 0; i < hostIds.length; i += BATCH) {
    const batch = hostIds.slice(i, i + BATCH);
    const docs = await models.RunStep.find(
      {
        hostId: { $in: batch },
        step: 'precheck',
        $or: [{ outcome: 'succeeded' }, { code: 'PRECHECK_INHIBITED' }],
        factsDigest: { $exists: true, $ne: '' },
      },
      { hostId: 1, planId: 1, factsDigest: 1, finishedAt: 1 },
    ).lean();
    for (const d of docs) {
      const at = d.finishedAt ?? new Date(0);
      const seen = out.get(d.hostId);
      if (!seen || seen.at < at) out.set(d.hostId, { planId: d.planId, factsDigest: d.factsDigest ?? '', at });
    }
  }
  return out;
}
