// The scale benchmark's workload, as pure functions of its options: the simulated fleet's
// configuration (sized hosts, uneven clusters, step durations as shares of a host's
// migration), the plan it runs, and the same hosts as the zero-overhead replay sees them
// (their durations summed from the very functions the simulated agents sleep by, and
// the scheduler's own prediction from the sizes they register).
import type { StepName } from '@yixing/common';
import { fleetIdentities, parseSimulateConfig, type SimulateOptions, simulatedHostSize, stepDurationMs } from '@yixing/host-agent/internal';
import { type PlanInput, predictSeconds, type ReplayHost, sizeOfFacts } from '@yixing/scheduler/internal';

export const PLAN_STEPS = ['cluster-check', 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'] as const satisfies readonly StepName[];

/**
 * What each step takes of a host's migration, from a real Debian 11 → 12 run on a
 * mid-size host (BENCHMARKS.md "Debian 11 → 12 on a real root" and the rollback bench):
 * the upgrade dominates, the backup and the reboot next.
 */
export const STEP_SHARES: Readonly<Record<(typeof PLAN_STEPS)[number], number>> = {
  'cluster-check': 0.01,
  precheck: 0.05,
  backup: 0.1,
  upgrade: 0.7,
  reboot: 0.09,
  postcheck: 0.05,
};

export interface ScaleOptions {
  /** Hosts in the plan. */
  hosts: number;
  /** Hosts registered in all (the plan's and others, in another pool). */
  registered: number;
  /** Hosts one fleet process carries. */
  perFleet: number;
  clusters: number;
  maxInFlight: number;
  /**
   * Hosts of one cluster in flight at most (a count: with clusters a hundred times apart in
   * size, a percent would resolve to nothing in the smallest).
   */
  perCluster: number;
  canary: number;
  /** A median host's whole migration, seconds (scaled down from real minutes). */
  medianSeconds: number;
  /** σ of ln(host size); the durations scale with it. */
  sigma: number;
  /** σ of ln(duration ÷ what the size says): what no prediction from the facts can know. */
  noise: number;
  heartbeatMs: number;
  /** How often a running simulated step reports progress. */
  progressMs: number;
  seed: string;
}

export const defaultScaleOptions: ScaleOptions = {
  hosts: 100_000,
  registered: 300_000,
  perFleet: 25_000,
  clusters: 100,
  maxInFlight: 5_000,
  perCluster: 125,
  canary: 50,
  medianSeconds: 60,
  sigma: 0.5,
  noise: 0.3,
  heartbeatMs: 60_000,
  progressMs: 15_000,
  seed: 'scale',
};

export const PLAN_POOL = 'scale';
export const IDLE_POOL = 'scale-idle';
export const PLAN_PREFIX = 's';
export const IDLE_PREFIX = 'i';

/** A median host's size, as a mid-size Debian server reports it. */
const MEDIAN_SIZE = { packages: 800, installedBytes: 2_500_000_000, diskUsedBytes: 20_000_000_000 };

/**
 * A fleet process's YX_SIM_CONFIG: each step ±10 % around its share of the median. The idle
 * pool's clusters are its own (`ic00`, …): a per-cluster limit counts a cluster's members,
 * and a pool's clusters hold only that pool's hosts, as on real sites.
 */
export function simConfig(o: ScaleOptions, pool: string = PLAN_POOL): string {
  const durations = Object.fromEntries(
    PLAN_STEPS.map((s) => {
      const mid = STEP_SHARES[s] * o.medianSeconds * 1000;
      return [s, [Math.round(mid * 0.9), Math.round(mid * 1.1)]];
    }),
  );
  return JSON.stringify({
    seed: o.seed,
    durations,
    tickMs: o.progressMs,
    size: { sigma: o.sigma, noiseSigma: o.noise, ...MEDIAN_SIZE },
    state: 'memory',
    clusterSizes: 'uneven',
    clusterPrefix: pool === PLAN_POOL ? 'c' : 'ic',
  });
}

/** The plan: a canary, waves of 10/30/60 %, the global and per-cluster limits. */
export function scalePlan(o: ScaleOptions): PlanInput {
  return {
    name: 'scale',
    selector: { pool: PLAN_POOL },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: o.canary },
    promotion: { mode: 'auto', soakSeconds: 0 },
    waves: [{ percent: 10 }, { percent: 30 }, { percent: 60 }],
    limits: { maxInFlight: o.maxInFlight, perCluster: { count: o.perCluster } },
    errorBudget: { plan: { percent: 100 } },
    clusterCheck: { minHealthyPercent: 0 },
  };
}

/** Zones and racks of the fleet processes (their YX_FLEET_ZONES and YX_FLEET_RACKS). */
export const FLEET_LAYOUT = { zones: 3, racksPerZone: 4 };

/** The fleet processes: the plan's hosts first, then the idle ones, at most perFleet each. */
export function fleetSplits(o: ScaleOptions): { pool: string; prefix: string; offset: number; size: number }[] {
  const out: { pool: string; prefix: string; offset: number; size: number }[] = [];
  const split = (pool: string, prefix: string, n: number): void => {
    for (let offset = 0; offset < n; offset += o.perFleet) out.push({ pool, prefix, offset, size: Math.min(o.perFleet, n - offset) });
  };
  split(PLAN_POOL, PLAN_PREFIX, o.hosts);
  split(IDLE_POOL, IDLE_PREFIX, o.registered - o.hosts);
  return out;
}

/**
 * The plan's hosts as the replay sees them: labels from the fleet's own layout, a slot time
 * of the sum of its steps as the simulated agent sleeps them (attempt 1, no failures), and
 * the scheduler's prediction from the size it registers.
 */
export function replayHosts(o: ScaleOptions): ReplayHost[] {
  const sim: SimulateOptions = parseSimulateConfig(simConfig(o));
  // Per fleet process, as each names its hosts (an id's width comes from its own offset + size).
  return fleetSplits(o)
    .filter((f) => f.pool === PLAN_POOL)
    .flatMap((f) => fleetIdentities({ ...FLEET_LAYOUT, clusters: o.clusters, ...f, osId: 'centos', osVersion: '7' }, 'bench', sim))
    .map((id) => {
      const ms = PLAN_STEPS.reduce((sum, s) => sum + stepDurationMs(sim, id.hostId, s, 1), 0);
      const size = sizeOfFacts(simulatedHostSize(sim, id.hostId));
      return {
        hostId: id.hostId,
        cluster: id.labels.cluster as string,
        zone: id.labels.zone as string,
        rack: id.labels.rack as string,
        seconds: ms / 1000,
        ...(size ? { predictedSeconds: predictSeconds({ size }) } : {}),
      };
    });
}

/** A run's slot as the plan's hosts API shows it (ISO times; released null while held). */
export interface SlotSpan {
  takenAt: string | null;
  releasedAt: string | null;
}

/**
 * How long the runs held their slots, taken to released, summed; and how many slots were
 * never released. Beside Σd (what the agents slept) it is what the control plane adds to
 * each host (dispatches, events, commits), free of the ordering luck that moves a whole
 * makespan by several per cent between two runs of one workload (526 s and 572 s for the
 * same seed on this machine, against a replay of 549 s).
 */
export function slotHoldSeconds(runs: readonly { slots: readonly SlotSpan[] }[]): { seconds: number; open: number } {
  let ms = 0;
  let open = 0;
  for (const run of runs)
    for (const s of run.slots) {
      if (s.takenAt === null) continue;
      if (s.releasedAt === null) open++;
      else ms += Date.parse(s.releasedAt) - Date.parse(s.takenAt);
    }
  return { seconds: ms / 1000, open };
}
