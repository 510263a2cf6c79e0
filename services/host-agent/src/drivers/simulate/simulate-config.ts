// Parses the rehearsal configuration (JSON, from YX_SIM_CONFIG or a file) with errors that
// name the bad field: {"seed": "...", "durations": {"upgrade": [1000, 3000]},
// "failures": [{"step": "upgrade", "rate": 0.05}], "tickMs": 250,
// "findings": [{"rate": 0.1, "finding": {"id": "held-packages", "severity": "high",
// "inhibitor": true, "title": "...", "remediation": "..."}}],
// "previews": [{"hosts": ["sim-07"], "downloadBytes": [1e9, 2e9]}],
// "roles": [{"role": "containers", "rate": 0.3}], "target": {"id": "rocky", "version": "9"},
// "size": {"sigma": 0.5, "noiseSigma": 0.3, "packages": 800, "installedBytes": 2e9, "diskUsedBytes": 1e10},
// "state": "memory", "clusterSizes": "uneven", "clusterPrefix": "c"}.
import { isStepName, patterns, type StepName, YxError } from '@yixing/common';
import type { Finding, Severity } from '../../assessment/finding.ts';
import {
  type DurationRange,
  defaultSimulateOptions,
  type FailureRule,
  type HostSizeSpec,
  type SimulateOptions,
} from './simulate.driver.ts';
import {
  type HostMatch,
  type PlantedFinding,
  PREVIEW_FIELDS,
  type PreviewRule,
  type RoleRule,
  type ValueRange,
} from './simulated-assessment.ts';

export class SimulateConfigError extends YxError {
  readonly code = 'SIMULATE_CONFIG_INVALID';
  readonly retryable = false;
}

const fail = (field: string, reason: string): never => {
  throw new SimulateConfigError(`simulate config ${field}: ${reason}`);
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(obj: Record<string, unknown>, field: string, allowed: string[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${field}.${k}`, `unknown field (allowed: ${allowed.join(', ')})`);
}

/** A whole number or a [min, max] pair of them, not negative, as a range. */
function rangeOf(v: unknown, field: string, what: string): ValueRange {
  if (typeof v === 'number') v = [v, v];
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => Number.isSafeInteger(n) && n >= 0)) return fail(field, `must be ${what}`);
  const [min, max] = v as [number, number];
  if (min > max) fail(field, `min ${min} is above max ${max}`);
  return { min, max };
}

function durationOf(v: unknown, field: string): DurationRange {
  const { min, max } = rangeOf(v, field, 'milliseconds or [min, max] milliseconds');
  return { minMs: min, maxMs: max };
}

/** The `hosts` and `rate` of a rule: which hosts it applies to. */
function hostMatchOf(v: Record<string, unknown>, field: string): HostMatch {
  const match: HostMatch = {};
  if (v.rate !== undefined) {
    if (typeof v.rate !== 'number' || v.rate < 0 || v.rate > 1) fail(`${field}.rate`, 'must be a number from 0 to 1');
    match.rate = v.rate as number;
  }
  if (v.hosts !== undefined) {
    if (!Array.isArray(v.hosts) || !v.hosts.every((h) => typeof h === 'string')) fail(`${field}.hosts`, 'must be a list of host ids');
    match.hosts = v.hosts as string[];
  }
  return match;
}

function failureOf(v: unknown, field: string): FailureRule {
  if (!isObject(v)) return fail(field, 'must be an object');
  onlyKeys(v, field, ['step', 'rate', 'hosts', 'mode', 'attempts', 'retryable']);
  const rule: FailureRule = hostMatchOf(v, field);
  if (v.step !== undefined) {
    if (typeof v.step !== 'string' || !isStepName(v.step)) fail(`${field}.step`, `unknown step ${JSON.stringify(v.step)}`);
    rule.step = v.step as StepName;
  }
  if (v.mode !== undefined) {
    if (v.mode !== 'fail' && v.mode !== 'hang') fail(`${field}.mode`, 'must be "fail" or "hang"');
    rule.mode = v.mode as 'fail' | 'hang';
  }
  if (v.attempts !== undefined) {
    if (!Number.isInteger(v.attempts) || (v.attempts as number) < 0) fail(`${field}.attempts`, 'must be a whole number');
    rule.attempts = v.attempts as number;
  }
  if (v.retryable !== undefined) {
    if (typeof v.retryable !== 'boolean') fail(`${field}.retryable`, 'must be true or false');
    rule.retryable = v.retryable as boolean;
  }
  return rule;
}

const SEVERITIES: Severity[] = ['info', 'low', 'medium', 'high'];

function textOf(v: unknown, field: string, opts: { required: boolean; max: number }): string {
  if (v === undefined && !opts.required) return '';
  if (typeof v !== 'string' || (opts.required && v.trim() === '')) return fail(field, 'must be a non-empty string');
  if (v.length > opts.max) fail(field, `is ${v.length} characters long, at most ${opts.max} allowed`);
  return v;
}

function findingOf(v: unknown, field: string): Finding {
  if (!isObject(v)) return fail(field, 'must be an object');
  onlyKeys(v, field, ['id', 'severity', 'inhibitor', 'title', 'detail', 'remediation']);
  const id = textOf(v.id, `${field}.id`, { required: true, max: 128 });
  if (/\s/.test(id)) fail(`${field}.id`, `${JSON.stringify(id)} must not contain spaces`);
  if (!SEVERITIES.includes(v.severity as Severity)) fail(`${field}.severity`, `must be one of ${SEVERITIES.join(', ')}`);
  if (v.inhibitor !== undefined && typeof v.inhibitor !== 'boolean') fail(`${field}.inhibitor`, 'must be true or false');
  return {
    id,
    severity: v.severity as Severity,
    inhibitor: v.inhibitor === true,
    title: textOf(v.title, `${field}.title`, { required: true, max: 1024 }),
    detail: textOf(v.detail, `${field}.detail`, { required: false, max: 4096 }),
    remediation: textOf(v.remediation, `${field}.remediation`, { required: false, max: 1024 }),
  };
}

function plantedFindingOf(v: unknown, field: string): PlantedFinding {
  if (!isObject(v)) return fail(field, 'must be an object');
  onlyKeys(v, field, ['hosts', 'rate', 'finding']);
  return { ...hostMatchOf(v, field), finding: findingOf(v.finding, `${field}.finding`) };
}

function previewRuleOf(v: unknown, field: string): PreviewRule {
  if (!isObject(v)) return fail(field, 'must be an object');
  onlyKeys(v, field, ['hosts', 'rate', ...PREVIEW_FIELDS]);
  const rule: PreviewRule = hostMatchOf(v, field);
  for (const f of PREVIEW_FIELDS)
    if (v[f] !== undefined) rule[f] = rangeOf(v[f], `${field}.${f}`, 'a whole number or [min, max] whole numbers, not negative');
  return rule;
}

const rolePattern = new RegExp(patterns.hostFacts.roles, 'u');

function roleRuleOf(v: unknown, field: string): RoleRule {
  if (!isObject(v)) return fail(field, 'must be an object');
  onlyKeys(v, field, ['hosts', 'rate', 'role']);
  if (typeof v.role !== 'string' || !rolePattern.test(v.role))
    fail(`${field}.role`, `${JSON.stringify(v.role)} does not match ${rolePattern.source}`);
  return { ...hostMatchOf(v, field), role: v.role as string };
}

const SIZE_FIELDS = ['sigma', 'noiseSigma', 'packages', 'installedBytes', 'diskUsedBytes'] as const;

/** {sigma, noiseSigma, packages, installedBytes, diskUsedBytes}: σ from 0 to 3, medians whole numbers. */
function sizeOf(v: unknown, field: string): HostSizeSpec {
  if (!isObject(v)) return fail(field, `must be an object {${SIZE_FIELDS.join(', ')}}`);
  onlyKeys(v, field, [...SIZE_FIELDS]);
  for (const k of SIZE_FIELDS) if (v[k] === undefined) fail(`${field}.${k}`, 'is required');
  for (const k of ['sigma', 'noiseSigma'] as const) {
    const x = v[k];
    if (typeof x !== 'number' || !(x >= 0 && x <= 3)) fail(`${field}.${k}`, 'must be a number from 0 to 3');
  }
  for (const k of ['packages', 'installedBytes', 'diskUsedBytes'] as const) {
    const x = v[k];
    if (!Number.isSafeInteger(x) || (x as number) < 0) fail(`${field}.${k}`, 'must be a whole number, not negative');
  }
  return v as unknown as HostSizeSpec;
}

function listOf<T>(v: unknown, field: string, item: (v: unknown, field: string) => T): T[] {
  if (!Array.isArray(v)) return fail(field, 'must be a list');
  return v.map((x, i) => item(x, `${field}[${i}]`));
}

export function parseSimulateConfig(text: string | undefined): SimulateOptions {
  if (text === undefined || text.trim() === '') return defaultSimulateOptions;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail('', `not JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) return fail('', 'must be a JSON object');
  onlyKeys(raw, '', [
    'seed',
    'durations',
    'failures',
    'tickMs',
    'findings',
    'previews',
    'roles',
    'target',
    'size',
    'state',
    'clusterSizes',
    'clusterPrefix',
  ]);
  const opts: SimulateOptions = { ...defaultSimulateOptions, durations: { ...defaultSimulateOptions.durations }, failures: [] };
  if (raw.seed !== undefined) {
    if (typeof raw.seed !== 'string') fail('.seed', 'must be a string');
    opts.seed = raw.seed as string;
  }
  if (raw.durations !== undefined) {
    if (!isObject(raw.durations)) return fail('.durations', 'must be an object of step → ms');
    for (const [step, v] of Object.entries(raw.durations)) {
      if (!isStepName(step)) fail(`.durations.${step}`, 'unknown step');
      opts.durations[step as StepName] = durationOf(v, `.durations.${step}`);
    }
  }
  if (raw.failures !== undefined) opts.failures = listOf(raw.failures, '.failures', failureOf);
  if (raw.findings !== undefined) opts.findings = listOf(raw.findings, '.findings', plantedFindingOf);
  if (raw.previews !== undefined) opts.previews = listOf(raw.previews, '.previews', previewRuleOf);
  if (raw.roles !== undefined) opts.roles = listOf(raw.roles, '.roles', roleRuleOf);
  if (raw.target !== undefined) {
    if (!isObject(raw.target)) return fail('.target', 'must be an object {id, version}');
    onlyKeys(raw.target, '.target', ['id', 'version']);
    opts.target = {
      id: textOf(raw.target.id, '.target.id', { required: true, max: 64 }),
      version: textOf(raw.target.version, '.target.version', { required: true, max: 64 }),
    };
  }
  if (raw.size !== undefined) opts.size = sizeOf(raw.size, '.size');
  if (raw.state !== undefined) {
    if (raw.state !== 'files' && raw.state !== 'memory') fail('.state', 'must be "files" or "memory"');
    opts.state = raw.state as 'files' | 'memory';
  }
  if (raw.clusterSizes !== undefined) {
    if (raw.clusterSizes !== 'even' && raw.clusterSizes !== 'uneven') fail('.clusterSizes', 'must be "even" or "uneven"');
    opts.clusterSizes = raw.clusterSizes as 'even' | 'uneven';
  }
  if (raw.clusterPrefix !== undefined) {
    if (typeof raw.clusterPrefix !== 'string' || !/^[a-z][a-z0-9-]{0,15}$/.test(raw.clusterPrefix))
      fail('.clusterPrefix', 'must be 1 to 16 lowercase letters, digits or dashes, starting with a letter');
    opts.clusterPrefix = raw.clusterPrefix as string;
  }
  if (raw.tickMs !== undefined) {
    if (!Number.isInteger(raw.tickMs) || (raw.tickMs as number) < 1) fail('.tickMs', 'must be a positive whole number');
    opts.tickMs = raw.tickMs as number;
  }
  return opts;
}
