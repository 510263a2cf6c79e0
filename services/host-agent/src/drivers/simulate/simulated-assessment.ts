// What a rehearsal plants on its simulated hosts for a pool assessment: findings (warnings
// and inhibitors), the size of each host's upgrade, and the roles hosts are detected with.
// The simulated precheck reports them in the real assessment's shape (AssessmentReport),
// so a pool report is tested over a simulated pool. Every choice is a pure function of
// (seed, rule, host), like the driver's durations and failures.
import type { AssessmentReport, Finding } from '../../assessment/assessment.ts';
import { chooseStrategy, rollbackRequirement, type StrategyOption } from '../../snapshot/strategy-choice.ts';
import type { StepContext } from '../driver.ts';
import { type SimulateOptions, unitHash } from './simulate.driver.ts';

/** Which hosts a rule applies to: these hosts (any when absent), then a share of them (all when absent). */
export interface HostMatch {
  hosts?: string[] | undefined;
  /** Probability in [0, 1] that a host the rule names gets it; 1 when absent. */
  rate?: number | undefined;
}

export interface PlantedFinding extends HostMatch {
  finding: Finding;
}

export interface ValueRange {
  min: number;
  max: number;
}

export const PREVIEW_FIELDS = ['downloadBytes', 'installBytes', 'upgrades', 'installs', 'packages'] as const;
export type PreviewField = (typeof PREVIEW_FIELDS)[number];

/** The size of the upgrade on the hosts it matches: each field a range a host's value is drawn from. */
export type PreviewRule = HostMatch & Partial<Record<PreviewField, ValueRange>>;

export interface RoleRule extends HostMatch {
  role: string;
}

const MiB = 1024 * 1024;

/** A host no preview rule sizes. */
export const defaultPreview: Record<PreviewField, ValueRange> = {
  downloadBytes: { min: 50 * MiB, max: 400 * MiB },
  installBytes: { min: 100 * MiB, max: 1024 * MiB },
  upgrades: { min: 200, max: 900 },
  installs: { min: 5, max: 60 },
  packages: { min: 400, max: 1500 },
};

const matches = (opts: SimulateOptions, kind: string, i: number, rule: HostMatch, hostId: string): boolean =>
  (rule.hosts === undefined || rule.hosts.includes(hostId)) && unitHash(opts.seed, kind, i, hostId) < (rule.rate ?? 1);

/** The findings planted on a host, in the order the rules are written. */
export function plantedFindings(opts: SimulateOptions, hostId: string): Finding[] {
  return opts.findings.filter((f, i) => matches(opts, 'finding', i, f, hostId)).map((f) => ({ ...f.finding }));
}

/** The roles a host is detected with: its own and those planted on it, sorted. */
export function plantedRoles(opts: SimulateOptions, hostId: string, own: readonly string[] = []): string[] {
  const planted = opts.roles.filter((r, i) => matches(opts, 'role', i, r, hostId)).map((r) => r.role);
  return [...new Set([...own, ...planted])].sort();
}

/** Each field from the first matching rule that sizes it, else the default; drawn per host. */
export function plantedPreview(opts: SimulateOptions, hostId: string): Record<PreviewField, number> {
  const matching = opts.previews.filter((r, i) => matches(opts, 'preview', i, r, hostId));
  const out = {} as Record<PreviewField, number>;
  for (const field of PREVIEW_FIELDS) {
    const range = matching.find((r) => r[field] !== undefined)?.[field] ?? defaultPreview[field];
    out[field] = Math.round(range.min + (range.max - range.min) * unitHash(opts.seed, 'preview', field, hostId));
  }
  return out;
}

/** What the simulated host reports of itself in an assessment. */
export interface SimulatedHostFacts {
  source: { id: string; versionId: string; arch: string };
  roles: string[];
  factsDigest: string;
}

/** What the assessment adds to the real report's fields for a pool report. */
export type SimulatedAssessmentReport = AssessmentReport & { roles: string[]; factsDigest: string; simulated: true };

const simulatedRollbackOptions: StrategyOption[] = [
  { strategy: 'snapshot', driver: 'copy', usable: true, detail: 'simulated host' },
  { strategy: 'packages', usable: true, detail: 'simulated host' },
];

/** The simulated precheck's report, in the real assessment's shape. */
export function simulatedAssessment(
  opts: SimulateOptions,
  ctx: Pick<StepContext, 'hostId' | 'profile' | 'rollbackRequired'>,
  host: SimulatedHostFacts,
  at: Date,
): SimulatedAssessmentReport {
  const findings = plantedFindings(opts, ctx.hostId);
  const required = rollbackRequirement(ctx.rollbackRequired, undefined);
  const choice = chooseStrategy(required, simulatedRollbackOptions);
  const { packages, ...sizes } = plantedPreview(opts, ctx.hostId);
  const inhibiting = findings.filter((f) => f.inhibitor).map((f) => f.id);
  return {
    simulated: true,
    profile: ctx.profile,
    root: '/',
    at: at.toISOString(),
    source: host.source,
    target: opts.target,
    findings,
    inhibitors: inhibiting.length,
    preview: { reachable: true, error: '', ...sizes, removals: [], changes: [] },
    runningServices: [],
    packages,
    rollback: {
      required,
      chosen: choice.chosen,
      ...(choice.driver ? { driver: choice.driver } : {}),
      options: simulatedRollbackOptions,
      findings: [],
    },
    dataPaths: [],
    notBackedUp: [],
    enabledServices: [],
    roles: host.roles,
    factsDigest: host.factsDigest,
    summary:
      inhibiting.length > 0
        ? `${inhibiting.length} inhibitor(s): ${inhibiting.join(', ')}; nothing was changed`
        : `ready: ${sizes.upgrades} upgrades, ${sizes.installs} new packages, ${(sizes.downloadBytes / MiB).toFixed(0)} MiB to download; ${findings.length} finding(s), none blocking`,
  };
}
