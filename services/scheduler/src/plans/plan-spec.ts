// What an operator submits to create a plan: its JSON Schema (validated by fastify at the
// edge, served in the OpenAPI document) and its TypeScript shape. Rules that need the
// inventory or the clock (limits that resolve to zero, windows in the past) are checked
// by PlanService.create.
import { idPatterns, limits, patterns, STEP_NAMES, type StepName } from '@yixing/common';
import type { Amount } from './plan-math.ts';
import type { MaintenanceWindow } from './windows.ts';

export type LabelSelector = Partial<Record<'pool' | 'cluster' | 'zone' | 'rack' | 'role', string | string[]>> & { hosts?: string[] };

export interface PlanSpec {
  name: string;
  /**
   * `migrate` (the default) runs the migration; `assess` runs only the precheck on every
   * selected host, within the same limits, changes nothing and produces the pool report.
   */
  mode: PlanMode;
  /** For an assessment: `changed` assesses only hosts whose facts changed since their last assessment. */
  reassess: 'all' | 'changed';
  selector: LabelSelector;
  profile: string;
  canary: Amount;
  promotion: { mode: 'manual' } | { mode: 'auto'; soakSeconds: number };
  waves: Amount[];
  limits: { maxInFlight: number; perCluster?: Amount; perZone?: Amount; perRack?: Amount };
  errorBudget: { plan: Amount; wave?: Amount };
  windows: MaintenanceWindow[];
  windowCutoffMinutes: number;
  steps: { timeoutSeconds: Partial<Record<StepName, number>>; retries: Partial<Record<StepName, number>> };
  clusterCheck: { minHealthyPercent: number; probe?: { kind: 'tcp' | 'http'; target: string; timeoutMs: number } };
  onFailure: 'rollback' | 'hold';
  /** The rollback strategy every host must be able to take; a host that cannot is inhibited at assessment. */
  rollback: RollbackRequirement;
  /** The oldest agent version a host may run the plan with; older or unknown agents are excluded at creation. */
  minAgentVersion?: string;
  dryRun: boolean;
  startPaused: boolean;
}

export const PLAN_MODES = ['migrate', 'assess'] as const;
export type PlanMode = (typeof PLAN_MODES)[number];

export const ROLLBACK_REQUIREMENTS = ['any', 'snapshot', 'packages'] as const;
export type RollbackRequirement = (typeof ROLLBACK_REQUIREMENTS)[number];

/** Defaults for optional fields, applied by PlanService.create. */
export const DEFAULT_TIMEOUTS: Record<StepName, number> = {
  'cluster-check': 120,
  precheck: 900,
  drain: 7200,
  backup: 3600,
  upgrade: 7200,
  reboot: 1800,
  undrain: 3600,
  postcheck: 900,
  rollback: 7200,
};

export const DEFAULT_RETRIES: Record<StepName, number> = {
  'cluster-check': 2,
  precheck: 0,
  drain: 1,
  backup: 1,
  upgrade: 0,
  reboot: 0,
  undrain: 1,
  postcheck: 1,
  rollback: 1,
};

const amount = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    count: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    percent: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
  },
} as const;

const labelValue = {
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 128 },
    { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 128 } },
  ],
} as const;

const hhmm = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;

const stepMap = (value: object) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(STEP_NAMES.map((s) => [s, value])),
  }) as const;

export const planSpecSchema = {
  $id: 'PlanSpec',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'selector', 'profile'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    mode: {
      type: 'string',
      enum: PLAN_MODES,
      description:
        'migrate (the default) runs the migration; assess runs only the precheck (the assessment) on every selected host within the same limits, changes nothing, and produces the pool report (GET /v1/plans/{id}/assessment). An assessment has no canary, waves or error budget.',
    },
    reassess: {
      type: 'string',
      enum: ['all', 'changed'],
      description:
        'For mode assess: all (the default) assesses every selected host; changed only those whose facts (release, packages, repositories, roles) changed since their last assessment, the others keep it.',
    },
    selector: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      description:
        'Hosts whose labels match every entry; a list matches any of its values. role matches the role label or any role the agent detected (containers, libvirt, kubernetes-node, hdfs-datanode, yarn-nodemanager, ...).',
      properties: {
        pool: labelValue,
        cluster: labelValue,
        zone: labelValue,
        rack: labelValue,
        role: labelValue,
        hosts: { type: 'array', minItems: 1, maxItems: 300_000, items: { type: 'string', pattern: idPatterns.hostId } },
      },
    },
    profile: { type: 'string', pattern: patterns.runStep.profile },
    canary: amount,
    promotion: {
      type: 'object',
      additionalProperties: false,
      required: ['mode'],
      properties: {
        mode: { type: 'string', enum: ['manual', 'auto'] },
        soakSeconds: { type: 'integer', minimum: 0, maximum: 7 * 24 * 3600 },
      },
    },
    waves: { type: 'array', maxItems: 100, items: amount },
    limits: {
      type: 'object',
      additionalProperties: false,
      required: ['maxInFlight'],
      properties: {
        maxInFlight: { type: 'integer', minimum: 1, maximum: 100_000 },
        perCluster: amount,
        perZone: amount,
        perRack: amount,
      },
    },
    errorBudget: {
      type: 'object',
      additionalProperties: false,
      required: ['plan'],
      properties: { plan: amount, wave: amount },
    },
    windows: {
      type: 'array',
      maxItems: 100,
      items: {
        anyOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['start', 'end'],
            properties: { start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['days', 'from', 'to'],
            properties: {
              days: {
                type: 'array',
                minItems: 1,
                uniqueItems: true,
                items: { type: 'string', enum: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] },
              },
              from: hhmm,
              to: hhmm,
              timezone: { type: 'string', minLength: 1, maxLength: 64 },
            },
          },
        ],
      },
    },
    windowCutoffMinutes: { type: 'integer', minimum: 0, maximum: 24 * 60 },
    steps: {
      type: 'object',
      additionalProperties: false,
      properties: {
        timeoutSeconds: stepMap({ type: 'integer', minimum: 1, maximum: 7 * 24 * 3600 }),
        retries: stepMap({ type: 'integer', minimum: 0, maximum: 10 }),
      },
    },
    clusterCheck: {
      type: 'object',
      additionalProperties: false,
      properties: {
        minHealthyPercent: { type: 'number', minimum: 0, maximum: 100 },
        probe: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'target'],
          properties: {
            kind: { type: 'string', enum: ['tcp', 'http'] },
            target: { type: 'string', minLength: 1, maxLength: 512 },
            timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000 },
          },
        },
      },
    },
    onFailure: { type: 'string', enum: ['rollback', 'hold'] },
    rollback: {
      type: 'string',
      enum: ROLLBACK_REQUIREMENTS,
      description:
        'The rollback strategy every host must be able to take: snapshot (a root snapshot reverted on rollback), packages (the package set restored) or any (the default); the profile may require one too, and a host that cannot meet a requirement is inhibited at assessment.',
    },
    minAgentVersion: {
      type: 'string',
      minLength: 1,
      maxLength: limits.agentRegistration.agentVersion,
      description:
        'The oldest agent version (a semantic version, like 0.2.0) a host may run the plan with: a host whose agent reported an older version at registration, or none, or one that is not a semantic version, is excluded when the plan is created, with the reason; it never starts and does not count against the error budget. Canary, waves and budgets are taken from the hosts that remain.',
    },
    dryRun: { type: 'boolean' },
    startPaused: { type: 'boolean' },
  },
} as const;

/** The request body as the schema admits it, before defaults. */
export type PlanInput = Partial<PlanSpec> & Pick<PlanSpec, 'name' | 'selector' | 'profile'>;

export function withDefaults(input: PlanInput): PlanSpec {
  return {
    name: input.name,
    mode: input.mode ?? 'migrate',
    reassess: input.reassess ?? 'all',
    selector: input.selector,
    profile: input.profile,
    canary: input.canary ?? { count: 1 },
    promotion: input.promotion ?? { mode: 'manual' },
    waves: input.waves ?? [],
    limits: input.limits ?? { maxInFlight: 10 },
    errorBudget: input.errorBudget ?? { plan: { percent: 5 } },
    windows: input.windows ?? [],
    windowCutoffMinutes: input.windowCutoffMinutes ?? 0,
    steps: {
      timeoutSeconds: { ...DEFAULT_TIMEOUTS, ...input.steps?.timeoutSeconds },
      retries: { ...DEFAULT_RETRIES, ...input.steps?.retries },
    },
    clusterCheck: {
      // An assessment takes no host out of its cluster.
      minHealthyPercent: input.clusterCheck?.minHealthyPercent ?? (input.mode === 'assess' ? 0 : 50),
      ...(input.clusterCheck?.probe
        ? { probe: { ...input.clusterCheck.probe, timeoutMs: input.clusterCheck.probe.timeoutMs ?? 5_000 } }
        : {}),
    },
    onFailure: input.onFailure ?? 'rollback',
    rollback: input.rollback ?? 'any',
    ...(input.minAgentVersion !== undefined ? { minAgentVersion: input.minAgentVersion } : {}),
    dryRun: input.dryRun ?? false,
    startPaused: input.startPaused ?? false,
  };
}
