// The arithmetic of plans, as pure functions: sizes given as a count or a percentage,
// wave assignment, per-failure-domain limits and error budgets. docs/error-budget.md
// explains the budget rules; the unit tests pin them.

/** A size or limit: an absolute count, or a percentage of some total. */
export type Amount = { count: number } | { percent: number };

/**
 * Resolves an amount against a total. Percentages round down (a limit never grows past
 * what was asked), so 10 % of 25 is 2. The result is never above the total.
 */
export function resolveAmount(amount: Amount, total: number): number {
  if ('count' in amount) return Math.min(amount.count, total);
  return Math.min(total, Math.floor((amount.percent * total) / 100 + 1e-9));
}

export interface Phase {
  /** 0 is the canary; 1.. are the waves. */
  index: number;
  name: string;
  size: number;
}

/**
 * Splits `total` ordered hosts into the canary and the waves. A wave larger than what is
 * left takes what is left; hosts left after the last wave join the last wave.
 */
export function planPhases(total: number, canary: Amount, waves: Amount[]): Phase[] {
  const canarySize = resolveAmount(canary, total);
  const phases: Phase[] = [{ index: 0, name: 'canary', size: canarySize }];
  let left = total - canarySize;
  waves.forEach((w, i) => {
    const size = Math.min(left, resolveAmount(w, total));
    phases.push({ index: i + 1, name: `wave ${i + 1}`, size });
    left -= size;
  });
  // Without waves, what the canary leaves is one wave (none if the canary takes all).
  if (waves.length === 0 && left > 0) phases.push({ index: 1, name: 'wave 1', size: left });
  else (phases.at(-1) as Phase).size += left;
  return phases;
}

/** The per-domain limits a plan's `limits` give, as [domain, amount] pairs. */
export function domainAmounts(limits: {
  perCluster?: Amount;
  perZone?: Amount;
  perRack?: Amount;
}): ['cluster' | 'zone' | 'rack', Amount][] {
  const out: ['cluster' | 'zone' | 'rack', Amount][] = [];
  if (limits.perCluster) out.push(['cluster', limits.perCluster]);
  if (limits.perZone) out.push(['zone', limits.perZone]);
  if (limits.perRack) out.push(['rack', limits.perRack]);
  return out;
}

/**
 * Healthy peers a cluster of `members` hosts must keep while one of its hosts is taken:
 * more than `minHealthyPercent` of its members (a majority at 50). A cluster of one host
 * has no peers to protect.
 */
export function requiredHealthy(members: number, minHealthyPercent: number): number {
  if (members <= 1 || minHealthyPercent <= 0) return 0;
  return Math.floor((minHealthyPercent / 100) * members + 1e-9) + 1;
}

/**
 * The error-budget rule. `budget` is the number of failed hosts at which the plan (or
 * wave) halts. Hosts in flight that have not failed could all still fail, so they are
 * capped at what is left of the budget: failed + inFlightNotFailed ≤ budget, always.
 * Hence the failures can reach the budget but never pass it, and new starts stop
 * exactly when failed == budget.
 */
export function budgetRoom(budget: number, failed: number, inFlightNotFailed: number): number {
  return Math.max(0, budget - failed - inFlightNotFailed);
}

/** FNV-1a, for a stable order of hosts within a plan that is not the order of ids. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The order in which a plan takes its hosts: interleaved across clusters (round robin
 * over clusters, each cluster's hosts in a stable pseudo-random order), so the canary
 * and every wave spread over failure domains instead of draining one cluster first.
 */
export function orderHosts<T extends { hostId: string; cluster: string }>(planId: string, hosts: T[]): T[] {
  const byCluster = new Map<string, T[]>();
  for (const h of hosts) {
    const list = byCluster.get(h.cluster) ?? [];
    list.push(h);
    byCluster.set(h.cluster, list);
  }
  const queues = [...byCluster.entries()]
    .sort(([a], [b]) => stableHash(`${planId}/${a}`) - stableHash(`${planId}/${b}`) || a.localeCompare(b))
    // Each host's hash once, not once per comparison (about 2 log n times).
    .map(([, list]) =>
      list
        .map((h) => ({ h, hash: stableHash(`${planId}/${h.hostId}`) }))
        .sort((a, b) => a.hash - b.hash || a.h.hostId.localeCompare(b.h.hostId))
        .map(({ h }) => h),
    );
  const out: T[] = [];
  for (let round = 0; out.length < hosts.length; round++) {
    for (const q of queues) {
      const h = q[round];
      if (h) out.push(h);
    }
  }
  return out;
}

/** How many items fall under each key, in one pass. */
export function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
