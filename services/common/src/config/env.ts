// Reading configuration from the environment: every value parsed and checked at start,
// with one ConfigError naming every bad variable, so a service fails fast and clearly.
import { ConfigError } from '../errors.ts';

type Parser<T> = (raw: string) => T;

export interface EnvSpec<T> {
  /** Description for error messages and --help. */
  doc: string;
  parse: Parser<T>;
  default?: T;
}

export const str =
  (opts: { pattern?: RegExp } = {}): Parser<string> =>
  (raw) => {
    if (opts.pattern && !opts.pattern.test(raw)) throw new Error(`must match ${opts.pattern}`);
    return raw;
  };

export const int =
  (opts: { min?: number; max?: number } = {}): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) throw new Error('must be an integer');
    if (opts.min !== undefined && n < opts.min) throw new Error(`must be at least ${opts.min}`);
    if (opts.max !== undefined && n > opts.max) throw new Error(`must be at most ${opts.max}`);
    return n;
  };

export const num =
  (opts: { min?: number; max?: number } = {}): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new Error('must be a number');
    if (opts.min !== undefined && n < opts.min) throw new Error(`must be at least ${opts.min}`);
    if (opts.max !== undefined && n > opts.max) throw new Error(`must be at most ${opts.max}`);
    return n;
  };

export const bool: Parser<boolean> = (raw) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error('must be true or false');
};

export const oneOf =
  <const T extends string>(values: readonly T[]): Parser<T> =>
  (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
    return raw as T;
  };

export type EnvResult<S extends Record<string, EnvSpec<unknown>>> = { [K in keyof S]: S[K] extends { parse: Parser<infer T> } ? T : never };

/** Parses every variable of the spec; throws one ConfigError listing all problems. */
export function readEnv<S extends Record<string, EnvSpec<unknown>>>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
): EnvResult<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if ('default' in s) out[name] = s.default;
      else problems.push(`${name} is required (${s.doc})`);
      continue;
    }
    try {
      out[name] = s.parse(raw);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(raw)} ${(err as Error).message} (${s.doc})`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  return out as EnvResult<S>;
}
