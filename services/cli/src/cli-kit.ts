// What every group of `yx` commands shares: the options, usage errors, counts and pages,
// and the plain tables lists print.
import { parseArgs } from 'node:util';
import { YxError } from '@yixing/common/errors';

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Record<string, string | undefined>;
}

/** How a command prints: a line (or lines) of text, or a value as JSON. */
export interface Printer {
  out(text: string): void;
  json(value: unknown): void;
}

/** The command line is wrong: one sentence on stderr, exit 2. */
export class UsageError extends YxError {
  readonly code = 'USAGE';
  readonly retryable = false;
}

export function parseCli(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      api: { type: 'string' },
      'backup-api': { type: 'string' },
      'alerting-api': { type: 'string' },
      host: { type: 'string' },
      plan: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      file: { type: 'string', short: 'f' },
      wait: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      state: { type: 'string' },
      rollback: { type: 'boolean', default: false },
      pool: { type: 'string' },
      cluster: { type: 'string' },
      zone: { type: 'string' },
      rack: { type: 'string' },
      role: { type: 'string' },
      run: { type: 'string' },
      step: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      tail: { type: 'string' },
      duration: { type: 'string' },
      ends: { type: 'string' },
      comment: { type: 'string' },
      csv: { type: 'boolean', default: false },
      output: { type: 'string', short: 'o' },
      slots: { type: 'string' },
      profile: { type: 'string' },
      backup: { type: 'string' },
      callback: { type: 'string' },
      key: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
}

export type Values = ReturnType<typeof parseCli>['values'];

export const need = (v: string | undefined, what: string): string => {
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
};

/** A path segment. */
export const seg = (v: string): string => encodeURIComponent(v);

/** The largest count the API takes (`limit`, `tail`: six digits); each list serves at most its own page size. */
const MAX_COUNT = 999_999;

/** A count option (--limit, --tail): a whole number from 1 to MAX_COUNT. */
export function count(option: string, raw: string): number {
  if (!/^[1-9][0-9]*$/.test(raw) || Number(raw) > MAX_COUNT)
    throw new UsageError(`${option} ${raw}: give a whole number from 1 to ${MAX_COUNT}`);
  return Number(raw);
}

/** --limit and --cursor of a list command. */
export function paging(v: Values): { max?: number; cursor?: string } {
  return { ...(v.limit !== undefined ? { max: count('--limit', v.limit) } : {}), ...(v.cursor ? { cursor: v.cursor } : {}) };
}

/** An option that takes one of `allowed`, or nothing. */
export function oneOf(option: string, raw: string | undefined, allowed: readonly string[]): string | undefined {
  if (raw !== undefined && !allowed.includes(raw)) throw new UsageError(`${option} ${raw}: give one of ${allowed.join(', ')}`);
  return raw;
}

/** Where a list stopped with more left, on stderr so that stdout stays the list. */
export const more = (io: { stderr: NodeJS.WriteStream }, nextCursor: string | null): void => {
  if (nextCursor) io.stderr.write(`(more: --cursor ${nextCursor})\n`);
};

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
