// The rehearsal driver: speaks the real protocol with configurable per-step durations and
// injected failures (by step, by rate, by host), so a whole fleet can be rehearsed on one
// machine. Every decision is a pure function of (seed, host, step, attempt), so a step
// resumed after a crash makes the same choice it made before.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StepName } from '@yixing/common';
import { FailureKind } from '@yixing/common';
import type { Driver, StepContext, StepOutcome } from '../driver.ts';
import {
  type PlantedFinding,
  type PreviewRule,
  type RoleRule,
  type SimulatedHostFacts,
  simulatedAssessment,
} from './simulated-assessment.ts';
import type { SimulatedBackups } from './simulated-backups.ts';

export interface DurationRange {
  minMs: number;
  maxMs: number;
}

export interface FailureRule {
  /** Only this step (any step when absent). */
  step?: StepName | undefined;
  /** Probability in [0, 1] that a matching step fails; 1 when absent. */
  rate?: number | undefined;
  /** Only these hosts (any host when absent). */
  hosts?: string[] | undefined;
  /** `fail` reports an execution failure; `hang` never finishes (until timeout or cancel). */
  mode?: 'fail' | 'hang' | undefined;
  /** Fail only the first N attempts (all attempts when absent or 0). */
  attempts?: number | undefined;
  retryable?: boolean | undefined;
}

export interface SimulateOptions {
  seed: string;
  durations: Partial<Record<StepName, DurationRange>>;
  failures: FailureRule[];
  /** How often a running step reports progress and saves a checkpoint. */
  tickMs: number;
  /** Findings the precheck reports on the hosts they match (an inhibitor fails it). */
  findings: PlantedFinding[];
  /** The size of the upgrade the precheck reports, by host. */
  previews: PreviewRule[];
  /** Roles the simulated hosts are detected with. */
  roles: RoleRule[];
  /** The release the precheck says the hosts would be migrated to. */
  target: { id: string; version: string };
  /** Hosts of uneven sizes (absent: every host the same size, durations from the ranges alone). */
  size?: HostSizeSpec | undefined;
  /**
   * Where each simulated agent keeps its state: `files` (one per host, as a real agent;
   * survives a fleet process crash) or `memory` (a benchmark's fleet, whose disk writes
   * would otherwise be most of its cost).
   */
  state?: 'files' | 'memory' | undefined;
  /** How the fleet's hosts spread over its clusters (fleet.ts): evenly (default) or unevenly. */
  clusterSizes?: 'even' | 'uneven' | undefined;
  /**
   * What its clusters are called: `<prefix>00`, `<prefix>01`, … (default `c`). Fleets of
   * different pools with different prefixes share no cluster, as pools on real sites.
   */
  clusterPrefix?: string | undefined;
}

/**
 * Host sizes drawn per host from a lognormal: a host's size factor f = exp(σ·z) scales its
 * registered facts (a median host reports the medians) and every step's duration; its
 * durations also carry a noise exp(noiseSigma·z′) the facts do not show, so a scheduler
 * predicting from the facts is as wrong as it would be on real hosts.
 */
export interface HostSizeSpec {
  sigma: number;
  noiseSigma: number;
  packages: number;
  installedBytes: number;
  diskUsedBytes: number;
}

/** What a sized host registers of itself (HostFacts' size fields). */
export interface SimulatedHostSize {
  packageCount: number;
  installedBytes: number;
  diskUsedBytes: number;
}

export const defaultSimulateOptions: SimulateOptions = {
  seed: 'yixing',
  durations: {
    'cluster-check': { minMs: 50, maxMs: 150 },
    precheck: { minMs: 200, maxMs: 600 },
    backup: { minMs: 300, maxMs: 900 },
    upgrade: { minMs: 1000, maxMs: 3000 },
    reboot: { minMs: 300, maxMs: 800 },
    postcheck: { minMs: 200, maxMs: 500 },
    rollback: { minMs: 500, maxMs: 1500 },
  },
  failures: [],
  tickMs: 250,
  findings: [],
  previews: [],
  roles: [],
  target: { id: 'simulated', version: 'next' },
};

/** Uniform [0, 1) from a hash of the parts: deterministic per host, step and attempt. */
export function unitHash(...parts: (string | number)[]): number {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/** A standard normal draw (Box–Muller) from two hashes of the parts. */
export function normalHash(...parts: (string | number)[]): number {
  const u = unitHash(...parts, 'u');
  const v = unitHash(...parts, 'v');
  return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
}

/** The host's size factor (1 without sizes): what its facts and its durations scale by. */
export function hostSizeFactor(opts: SimulateOptions, hostId: string): number {
  return opts.size ? Math.exp(opts.size.sigma * normalHash(opts.seed, 'size', hostId)) : 1;
}

/** What the host's durations take beyond what its size says (1 without sizes). */
function durationNoise(opts: SimulateOptions, hostId: string): number {
  return opts.size ? Math.exp(opts.size.noiseSigma * normalHash(opts.seed, 'noise', hostId)) : 1;
}

/** The size a sized host registers; undefined without sizes. */
export function simulatedHostSize(opts: SimulateOptions, hostId: string): SimulatedHostSize | undefined {
  if (!opts.size) return undefined;
  const f = hostSizeFactor(opts, hostId);
  return {
    packageCount: Math.max(1, Math.round(opts.size.packages * f)),
    installedBytes: Math.round(opts.size.installedBytes * f),
    diskUsedBytes: Math.round(opts.size.diskUsedBytes * f),
  };
}

export function stepDurationMs(opts: SimulateOptions, hostId: string, step: StepName, attempt: number): number {
  const d = opts.durations[step] ?? { minMs: 0, maxMs: 0 };
  const drawn = d.minMs + (d.maxMs - d.minMs) * unitHash(opts.seed, 'duration', hostId, step, attempt);
  return Math.round(opts.size ? drawn * hostSizeFactor(opts, hostId) * durationNoise(opts, hostId) : drawn);
}

export function injectedFailure(opts: SimulateOptions, hostId: string, step: StepName, attempt: number): FailureRule | undefined {
  return opts.failures.find(
    (f, i) =>
      (f.step === undefined || f.step === step) &&
      (f.hosts === undefined || f.hosts.includes(hostId)) &&
      (!f.attempts || attempt <= f.attempts) &&
      unitHash(opts.seed, 'failure', i, hostId, step, attempt) < (f.rate ?? 1),
  );
}

interface Checkpoint {
  elapsedMs: number;
}

/** A host the driver knows nothing of (no fleet to ask). */
const unknownHost: SimulatedHostFacts = { source: { id: 'simulated', versionId: '', arch: 'x86_64' }, roles: [], factsDigest: '' };

export class SimulateDriver implements Driver {
  readonly name = 'simulate' as const;
  readonly #opts: SimulateOptions;
  readonly #backups: SimulatedBackups | undefined;
  readonly #hostFacts: (hostId: string) => SimulatedHostFacts;

  /**
   * @param backups real backups of a synthetic tree (the demo fleet); none in a pure rehearsal
   * @param hostFacts what a host's precheck reports of it (release, roles, facts digest)
   */
  constructor(opts: SimulateOptions, backups?: SimulatedBackups, hostFacts: (hostId: string) => SimulatedHostFacts = () => unknownHost) {
    this.#opts = opts;
    this.#backups = backups;
    this.#hostFacts = hostFacts;
  }

  async run(ctx: StepContext): Promise<StepOutcome> {
    const total = stepDurationMs(this.#opts, ctx.hostId, ctx.step, ctx.attempt);
    const failure = injectedFailure(this.#opts, ctx.hostId, ctx.step, ctx.attempt);
    // A failing step fails half way through, after doing (simulated) work.
    const stopAt = failure?.mode === 'hang' ? Number.POSITIVE_INFINITY : failure ? Math.floor(total / 2) : total;
    let elapsed = ctx.resumed ? ((ctx.lastCheckpoint as Checkpoint | undefined)?.elapsedMs ?? 0) : 0;
    ctx.log(
      ctx.resumed
        ? `simulate: resuming ${ctx.step} at ${elapsed} of ${total} ms`
        : `simulate: ${ctx.step} for profile ${ctx.profile}, ${total} ms${ctx.dryRun ? ' (dry run)' : ''}`,
      'agent',
    );
    while (elapsed < stopAt) {
      const slice = Math.min(this.#opts.tickMs, stopAt - elapsed);
      await sleep(slice, undefined, { signal: ctx.signal });
      elapsed += slice;
      if (elapsed < stopAt) {
        await ctx.checkpoint({ elapsedMs: elapsed } satisfies Checkpoint);
        ctx.progress(Math.min(99, Math.floor((elapsed / total) * 100)));
      }
    }
    if (failure) {
      ctx.log(`simulate: injected failure in ${ctx.step}`, 'stderr');
      return {
        ok: false,
        code: 'SIMULATED_FAILURE',
        message: `injected failure in ${ctx.step} (attempt ${ctx.attempt})`,
        retryable: failure.retryable ?? false,
        kind: FailureKind.EXECUTION,
      };
    }
    if (ctx.step === 'precheck') return this.#precheck(ctx);
    const real = await this.#realWork(ctx);
    if (real && !real.ok) return real;
    ctx.log(`simulate: ${ctx.step} done`, 'agent');
    return { ok: true, report: { simulated: true, durationMs: total, ...(real?.ok ? (real.report as object) : {}) } };
  }

  /** The planted assessment, in the real one's shape; an inhibitor fails the step, as on a real host. */
  #precheck(ctx: StepContext): StepOutcome {
    const report = simulatedAssessment(this.#opts, ctx, this.#hostFacts(ctx.hostId), new Date());
    for (const f of report.findings) {
      ctx.log(`${f.inhibitor ? 'INHIBITOR' : f.severity.toUpperCase()} ${f.id}: ${f.title}`, f.inhibitor ? 'stderr' : 'stdout');
    }
    ctx.log(report.summary, report.inhibitors > 0 ? 'stderr' : 'agent');
    if (report.inhibitors > 0) {
      return { ok: false, code: 'PRECHECK_INHIBITED', message: report.summary, retryable: false, kind: FailureKind.EXECUTION, report };
    }
    return { ok: true, report };
  }

  /** The backup and the rollback's restore done for real, when backups are configured. */
  async #realWork(ctx: StepContext): Promise<StepOutcome | undefined> {
    if (!this.#backups || ctx.dryRun || (ctx.step !== 'backup' && ctx.step !== 'rollback')) return undefined;
    try {
      if (ctx.step === 'backup') {
        const record = await this.#backups.backup(ctx);
        ctx.log(`backup ${record.id} verified: ${record.sizeBytes} bytes, sha256 ${record.sha256}`, 'agent');
        return { ok: true, report: { backup: record } };
      }
      ctx.log(`restored backup ${await this.#backups.restore(ctx)}`, 'agent');
      return { ok: true };
    } catch (err) {
      const message = `${ctx.step}: ${(err as Error).message}`;
      ctx.log(message, 'stderr');
      const code = ctx.step === 'backup' ? 'BACKUP_FAILED' : 'ROLLBACK_UNVERIFIED';
      return { ok: false, code, message, retryable: ctx.step === 'backup', kind: FailureKind.EXECUTION };
    }
  }
}
