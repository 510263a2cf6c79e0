// The pool report shaped for the assessment view: the status counts in their order with
// their share, sizes and durations in the reader's language, and which finding kinds name
// only some of their hosts (an overview names at most 20 a kind). Pure, unit-tested.
import type { FindingKind, NotAssessedReason, PoolReport } from '@yixing/scheduler';

/** What GET …/assessment?view=overview answers: the report without its per-host lines. */
export type ReportOverview = Omit<PoolReport, 'hosts'> & { scope: { kind: 'plan' | 'fleet'; planId?: string } };
export const STATUSES = ['ready', 'warnings', 'inhibited', 'notAssessed'] as const;
export type StatusKey = (typeof STATUSES)[number];

export interface StatusCount {
  status: StatusKey;
  count: number;
  /** Share of the hosts, whole percent (0 when there are none). */
  percent: number;
}

/** The four statuses in order, each with its count and share. */
export function statusCounts(counts: ReportOverview['counts']): StatusCount[] {
  return STATUSES.map((status) => ({
    status,
    count: counts[status],
    percent: counts.hosts > 0 ? Math.round((counts[status] * 100) / counts.hosts) : 0,
  }));
}

/** A group of hosts the view lists: a finding kind or a reason for not being assessed. */
export interface HostGroup {
  /** Unique in the view: `inhibitor:held-packages`, `warning:…`, `notAssessed:never`. */
  key: string;
  hostCount: number;
  /** The hosts the overview names (the first ones, by id). */
  hosts: string[];
}

/** Whether the overview named every host of the group. */
export const namesAll = (g: Pick<HostGroup, 'hostCount' | 'hosts'>): boolean => g.hosts.length >= g.hostCount;

/** How soon to ask for the report again: while hosts are still being assessed (a plan running its prechecks), else not. */
export const REASSESS_POLL_MS = 5000;
export const nextPollMs = (report: Pick<ReportOverview, 'notAssessed'>): number | null =>
  report.notAssessed.some((n) => n.reason === 'pending' && n.hostCount > 0) ? REASSESS_POLL_MS : null;

export const groupKey = {
  inhibitor: (k: FindingKind): string => `inhibitor:${k.kind}`,
  warning: (k: FindingKind): string => `warning:${k.kind}`,
  notAssessed: (reason: NotAssessedReason): string => `notAssessed:${reason}`,
};

const IEC = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte', 'petabyte'] as const;
const IEC_SYMBOLS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * Bytes in binary units (1 MiB = 1024 KiB), the number in the reader's language
 * ("1.5 GiB", "1,536 MiB" in English, "1.5 GiB" in Chinese); `signed` puts a + on growth.
 * Written here: Intl has no binary units, and its decimal ones would say 1.6 GB for 1.5 GiB.
 */
export function formatBytes(n: number, locale: string, signed = false): string {
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < IEC.length - 1) {
    v /= 1024;
    u += 1;
  }
  const number = new Intl.NumberFormat(locale, {
    maximumFractionDigits: u === 0 ? 0 : 1,
    signDisplay: signed ? 'exceptZero' : 'auto',
  }).format(n < 0 ? -v : v);
  return `${number} ${IEC_SYMBOLS[u]}`;
}

const DURATION_UNITS = [
  ['day', 86_400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
] as const;

/** A duration in its two largest units in the reader's language ("2 hr 5 min", "2小时5分钟"). */
export function formatDuration(seconds: number, locale: string): string {
  let rest = Math.max(0, Math.round(seconds));
  const parts: string[] = [];
  for (const [unit, size] of DURATION_UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length === 0 && unit === 'second')) {
      parts.push(new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'short' }).format(n));
    } else if (parts.length > 0) break;
    if (parts.length === 2) break;
  }
  return new Intl.ListFormat(locale, { type: 'unit', style: 'narrow' }).format(parts);
}

/** A count in the reader's language ("12,345", "12,345"). */
export const formatCount = (n: number, locale: string): string => new Intl.NumberFormat(locale).format(n);

/** A count for a plural message: `count` picks the plural form, `n` is how it reads. */
export const counted = (count: number, locale: string): { count: number; n: string } => ({ count, n: formatCount(count, locale) });

/** The estimate's throughput in MiB/s, for the assumptions. */
export const mibPerSecond = (bytesPerSecond: number): number => Math.round((bytesPerSecond / (1024 * 1024)) * 1000) / 1000;
