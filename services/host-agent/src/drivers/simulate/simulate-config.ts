// Parses the rehearsal configuration (JSON, from YX_SIM_CONFIG or a file) with errors that
// name the bad field: {"seed": "...", "durations": {"upgrade": [1000, 3000]},
// "failures": [{"step": "upgrade", "rate": 0.05}], "tickMs": 250}.
import { isStepName, type StepName, YxError } from '@yixing/common';
import { type DurationRange, defaultSimulateOptions, type FailureRule, type SimulateOptions } from './simulate.driver.ts';

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

function durationOf(v: unknown, field: string): DurationRange {
  if (typeof v === 'number') v = [v, v];
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => Number.isInteger(n) && n >= 0)) {
    return fail(field, 'must be milliseconds or [min, max] milliseconds');
  }
  const [minMs, maxMs] = v as [number, number];
  if (minMs > maxMs) fail(field, `min ${minMs} is above max ${maxMs}`);
  return { minMs, maxMs };
}

function failureOf(v: unknown, field: string): FailureRule {
  if (!isObject(v)) return fail(field, 'must be an object');
  onlyKeys(v, field, ['step', 'rate', 'hosts', 'mode', 'attempts', 'retryable']);
  const rule: FailureRule = {};
  if (v.step !== undefined) {
    if (typeof v.step !== 'string' || !isStepName(v.step)) fail(`${field}.step`, `unknown step ${JSON.stringify(v.step)}`);
    rule.step = v.step as StepName;
  }
  if (v.rate !== undefined) {
    if (typeof v.rate !== 'number' || v.rate < 0 || v.rate > 1) fail(`${field}.rate`, 'must be a number from 0 to 1');
    rule.rate = v.rate as number;
  }
  if (v.hosts !== undefined) {
    if (!Array.isArray(v.hosts) || !v.hosts.every((h) => typeof h === 'string')) fail(`${field}.hosts`, 'must be a list of host ids');
    rule.hosts = v.hosts as string[];
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

export function parseSimulateConfig(text: string | undefined): SimulateOptions {
  if (text === undefined || text.trim() === '') return defaultSimulateOptions;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail('', `not JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) return fail('', 'must be a JSON object');
  onlyKeys(raw, '', ['seed', 'durations', 'failures', 'tickMs']);
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
  if (raw.failures !== undefined) {
    if (!Array.isArray(raw.failures)) return fail('.failures', 'must be a list');
    opts.failures = raw.failures.map((f, i) => failureOf(f, `.failures[${i}]`));
  }
  if (raw.tickMs !== undefined) {
    if (!Number.isInteger(raw.tickMs) || (raw.tickMs as number) < 1) fail('.tickMs', 'must be a positive whole number');
    opts.tickMs = raw.tickMs as number;
  }
  return opts;
}
