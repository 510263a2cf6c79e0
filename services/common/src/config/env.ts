// Reading configuration from the environment: every value parsed and checked at start,
// with one ConfigError naming every bad variable, so a service fails fast and clearly.
import { accessSync, constants } from 'node:fs';
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

/**
 * A check of variables that are each valid but must agree (both of a pair set, …): the
 * problems it finds, given the values read (a variable that failed its own parse is absent).
 */
export type EnvCheck = (values: Readonly<Record<string, unknown>>) => string[];

/** Parses every variable of the spec, then runs the checks; throws one ConfigError listing all problems. */
export function readEnv<S extends Record<string, EnvSpec<unknown>>>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
  checks: readonly EnvCheck[] = [],
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
  for (const check of checks) problems.push(...check(out));
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  return out as EnvResult<S>;
}

/** A path to a file this process can read (checked at start, not when first used). */
export const readableFile: Parser<string> = (raw) => {
  try {
    accessSync(raw, constants.R_OK);
  } catch (err) {
    throw new Error(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return raw;
};

/** A comma-separated list, empty items dropped. */
export const list =
  (opts: { pattern?: RegExp } = {}): Parser<string[]> =>
  (raw) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = opts.pattern ? items.filter((s) => !opts.pattern?.test(s)) : [];
    if (bad.length > 0) throw new Error(`${bad.join(', ')} must match ${opts.pattern}`);
    return items;
  };

// The variables every service reads alike, declared once: a service spreads the ones it
// uses into its readEnv spec (`readEnv({ ...natsEnv, ...mongoEnv, ...apiEnv(8080), … })`).

export const natsEnv = {
  YX_NATS_URL: { doc: 'NATS server URL(s), comma separated', parse: list(), default: ['nats://127.0.0.1:4222'] },
  YX_NATS_CREDS: { doc: "this identity's NATS credentials file (user JWT and seed); empty: none", parse: readableFile, default: '' },
  YX_NATS_TLS_CA: { doc: 'CA certificate (PEM) the NATS server is checked against; empty: TLS off', parse: readableFile, default: '' },
  YX_NATS_TLS_CERT: { doc: 'client certificate (PEM) for mutual TLS; needs YX_NATS_TLS_KEY', parse: readableFile, default: '' },
  YX_NATS_TLS_KEY: { doc: 'private key (PEM) of YX_NATS_TLS_CERT', parse: readableFile, default: '' },
} satisfies Record<string, EnvSpec<unknown>>;

export const mongoEnv = {
  YX_MONGO_URI: { doc: 'MongoDB URI', parse: str({ pattern: /^mongodb(\+srv)?:\/\// }), default: 'mongodb://127.0.0.1:27017/yixing' },
  YX_MONGO_POOL: {
    doc: 'most database requests in flight (FerretDB v1 deadlocks near 50)',
    parse: int({ min: 1, max: 500 }),
    default: 10,
  },
} satisfies Record<string, EnvSpec<unknown>>;

/** The contract's streams, which the scheduler and the backup service both keep as configured. */
export const streamEnv = {
  YX_STREAM_REPLICAS: { doc: 'replicas of the JetStream streams', parse: int({ min: 1, max: 5 }), default: 1 },
} satisfies Record<string, EnvSpec<unknown>>;

/** The API's address; each service has its own default port. */
export const apiEnv = (defaultPort: number) =>
  ({
    YX_API_HOST: { doc: 'address the API listens on', parse: str(), default: '127.0.0.1' },
    YX_API_PORT: { doc: 'port the API listens on', parse: int({ min: 0, max: 65535 }), default: defaultPort },
  }) satisfies Record<string, EnvSpec<unknown>>;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const logEnv = {
  YX_LOG_LEVEL: { doc: 'least severe log level written', parse: oneOf(LOG_LEVELS), default: 'info' },
} satisfies Record<string, EnvSpec<unknown>>;
