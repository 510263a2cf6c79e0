// The pool report: from each host's latest assessment, how ready the pool is to migrate.
// Hosts are ready, ready with warnings, inhibited, or not assessed (and why); findings
// are grouped by kind (the id before ':') with the hosts they affect; the previews add up
// to the download, the installed-size growth and an estimated duration. Pure: the store
// feeds it one host at a time (each report is read once and dropped), build() sums up.
import type { RunState } from '../db/models.ts';
import {
  type AssessedFinding,
  type AssessedReport,
  findingKind,
  readAssessmentReport,
  SEVERITIES,
  type Severity,
} from './assessment-report.ts';
import { DEFAULT_ESTIMATE_MODEL, type DurationEstimate, type EstimateModel, estimateDuration, hostSeconds } from './duration-estimate.ts';

/** The code of a precheck that ran and found inhibitors; its report is the assessment. */
export const PRECHECK_INHIBITED = 'PRECHECK_INHIBITED';

/** A finished precheck step (a run_steps record). */
export interface PrecheckRecord {
  planId: string;
  outcome: 'succeeded' | 'failed' | 'deferred';
  code: string;
  message: string;
  /** The step's JSON report: the agent's assessment. */
  report: string;
  finishedAt: Date | string | null;
  /** The step's attempt: of two prechecks finished at once, the later attempt is the latest. */
  attempt?: number;
}

/** What is known of one host: its run in the plan, and its latest precheck. */
export interface HostAssessment {
  hostId: string;
  /** The host's run in the plan; null where there is none (the fleet view). */
  run: {
    state: RunState;
    exclusionReason?: string;
    failure?: { step: string; code: string; message: string } | null;
  } | null;
  precheck: PrecheckRecord | null;
  /** `plan`: the plan's own precheck; `reused`: an earlier one, kept because the host's facts did not change. */
  source: 'plan' | 'reused';
}

export type HostStatus = 'ready' | 'warnings' | 'inhibited' | 'not-assessed';

/**
 * Why a host has no assessment: its run has not reached the precheck (`pending`), it was
 * excluded, the precheck failed to run, its report cannot be read, or it was never
 * assessed (the fleet view).
 */
export const NOT_ASSESSED_REASONS = ['pending', 'excluded', 'failed', 'unreadable', 'never'] as const;
export type NotAssessedReason = (typeof NOT_ASSESSED_REASONS)[number];

/** One host's line of the report (a CSV row). */
export interface PoolHost {
  hostId: string;
  status: HostStatus;
  notAssessed: NotAssessedReason | null;
  /** What stands in the way, in words ('' for a ready host). */
  reason: string;
  /** Finding ids, as the agent wrote them. */
  inhibitors: string[];
  warnings: string[];
  roles: string[];
  downloadBytes: number | null;
  installBytes: number | null;
  estimatedSeconds: number | null;
  assessedAt: string | null;
  /** The plan whose precheck this is ('' when none). */
  planId: string;
  source: 'plan' | 'reused' | null;
  /** The stored report was cut short; read up to the cut (its roles may be missing). */
  reportTruncated: boolean;
}

/** Findings of one kind across the pool. */
export interface FindingKind {
  kind: string;
  /** The highest severity any host reported. */
  severity: Severity;
  /** The first affected host's title and remediation: titles carry host details (sizes, package names). */
  title: string;
  remediation: string;
  hostCount: number;
  hosts: string[];
}

export interface PoolReport {
  generatedAt: string;
  counts: {
    hosts: number;
    ready: number;
    warnings: number;
    inhibited: number;
    notAssessed: number;
    reused: number;
    /** Hosts whose stored report was cut short (counted all the same). */
    truncated: number;
  };
  notAssessed: { reason: NotAssessedReason; hostCount: number; hosts: string[] }[];
  inhibitors: FindingKind[];
  warnings: FindingKind[];
  roles: { role: string; hostCount: number }[];
  /** Summed over the hosts that could migrate now (ready, with or without warnings) whose upgrade was computed. */
  totals: { hosts: number; downloadBytes: number; installBytes: number; upgrades: number; installs: number };
  estimate: DurationEstimate;
  hosts: PoolHost[];
}

/** A warning is a finding that does not inhibit and is more than information. */
const isWarning = (f: AssessedFinding): boolean => !f.inhibitor && f.severity !== 'info';

const iso = (at: Date | string | null): string | null => (at === null ? null : new Date(at).toISOString());

interface Classified {
  host: PoolHost;
  report: AssessedReport | null;
  inhibitors: AssessedFinding[];
  warnings: AssessedFinding[];
}

function notAssessed(a: HostAssessment, reason: NotAssessedReason, why: string): Classified {
  const p = a.precheck;
  const host: PoolHost = {
    hostId: a.hostId,
    status: 'not-assessed',
    notAssessed: reason,
    reason: why,
    inhibitors: [],
    warnings: [],
    roles: [],
    downloadBytes: null,
    installBytes: null,
    estimatedSeconds: null,
    assessedAt: p ? iso(p.finishedAt) : null,
    planId: p?.planId ?? '',
    source: p ? a.source : null,
    reportTruncated: false,
  };
  return { host, report: null, inhibitors: [], warnings: [] };
}

/** A host without a precheck record: where its run is. */
function withoutPrecheck(a: HostAssessment): Classified {
  const run = a.run;
  if (!run) return notAssessed(a, 'never', 'never assessed');
  switch (run.state) {
    case 'excluded':
      return notAssessed(a, 'excluded', run.exclusionReason || 'excluded from the plan');
    case 'failed': {
      const f = run.failure;
      return notAssessed(a, 'failed', f ? `${f.step} failed: ${f.code}: ${f.message}` : 'the run failed before its precheck');
    }
    case 'succeeded':
      return notAssessed(a, 'failed', 'the run ended without a precheck');
    case 'held':
      return notAssessed(a, 'pending', 'held before its precheck');
    case 'active':
      return notAssessed(a, 'pending', 'being assessed');
    default:
      return notAssessed(a, 'pending', 'not assessed yet');
  }
}

/** One host's status from its run and precheck. */
export function classifyHost(a: HostAssessment, model: EstimateModel = DEFAULT_ESTIMATE_MODEL): Classified {
  const p = a.precheck;
  if (!p || p.outcome === 'deferred') return withoutPrecheck(a);
  const inhibitedCode = p.outcome === 'failed' && p.code === PRECHECK_INHIBITED;
  if (p.outcome === 'failed' && !inhibitedCode) return notAssessed(a, 'failed', `precheck failed: ${p.code}: ${p.message}`);
  const read = readAssessmentReport(p.report);
  if (!read.ok) return notAssessed(a, 'unreadable', read.reason);
  const report = read.report;
  const inhibitors = report.findings.filter((f) => f.inhibitor);
  // The agent said inhibited but named nothing: the host is inhibited all the same.
  if (inhibitedCode && inhibitors.length === 0) {
    inhibitors.push({
      id: 'unnamed-inhibitor',
      kind: 'unnamed-inhibitor',
      severity: 'high',
      inhibitor: true,
      title: p.message,
      remediation: '',
    });
  }
  const warnings = report.findings.filter(isWarning);
  const status: HostStatus = inhibitors.length > 0 ? 'inhibited' : warnings.length > 0 ? 'warnings' : 'ready';
  const host: PoolHost = {
    hostId: a.hostId,
    status,
    notAssessed: null,
    reason: inhibitors.map((f) => f.title || f.id).join('; '),
    inhibitors: inhibitors.map((f) => f.id),
    warnings: warnings.map((f) => f.id),
    roles: report.roles,
    downloadBytes: report.preview?.downloadBytes ?? null,
    installBytes: report.preview?.installBytes ?? null,
    estimatedSeconds: report.preview ? hostSeconds(report.preview, model) : null,
    assessedAt: report.at ? iso(report.at) : iso(p.finishedAt),
    planId: p.planId,
    source: a.source,
    reportTruncated: report.truncated,
  };
  return { host, report, inhibitors, warnings };
}

type KindDetail = Omit<FindingKind, 'hostCount' | 'hosts'>;

const rank = (s: Severity): number => SEVERITIES.indexOf(s);

function noteKinds(details: Map<string, KindDetail>, findings: AssessedFinding[]): void {
  for (const f of findings) {
    const d = details.get(f.kind);
    if (!d) details.set(f.kind, { kind: f.kind, severity: f.severity, title: f.title, remediation: f.remediation });
    else if (rank(f.severity) > rank(d.severity)) d.severity = f.severity;
  }
}

function kindsOf(
  hosts: PoolHost[],
  details: Map<string, KindDetail>,
  ids: (h: PoolHost) => string[],
  kindOf: (id: string) => string,
): FindingKind[] {
  const affected = new Map<string, string[]>();
  for (const h of hosts) {
    for (const kind of new Set(ids(h).map(kindOf))) {
      const list = affected.get(kind) ?? [];
      list.push(h.hostId);
      affected.set(kind, list);
    }
  }
  return [...affected]
    .map(([kind, list]) => ({
      ...(details.get(kind) ?? { kind, severity: 'high' as const, title: '', remediation: '' }),
      hostCount: list.length,
      hosts: list,
    }))
    .sort((a, b) => b.hostCount - a.hostCount || rank(b.severity) - rank(a.severity) || (a.kind < b.kind ? -1 : 1));
}

/** Where a host's precheck stands among its others: later finished, then later attempt. */
type Recency = [finished: number, attempt: number];

const recencyOf = (p: PrecheckRecord | null): Recency | null =>
  p ? [p.finishedAt === null ? 0 : new Date(p.finishedAt).getTime(), p.attempt ?? 0] : null;

/** Whether `a` is a later precheck than `b`; having one is later than having none. */
function isLater(a: Recency | null, b: Recency | null): boolean {
  if (!a) return false;
  if (!b) return true;
  return a[0] !== b[0] ? a[0] > b[0] : a[1] > b[1];
}

/**
 * Collects hosts one at a time, in any order: a host's latest precheck wins (an older one,
 * or none, added later is ignored before its report is read); build() sums up.
 */
export class PoolReportBuilder {
  readonly #model: EstimateModel;
  readonly #hosts = new Map<string, PoolHost>();
  readonly #recency = new Map<string, Recency | null>();
  readonly #inhibitors = new Map<string, KindDetail>();
  readonly #warnings = new Map<string, KindDetail>();
  readonly #upgrades = new Map<string, { upgrades: number; installs: number }>();

  constructor(model: EstimateModel = DEFAULT_ESTIMATE_MODEL) {
    this.#model = model;
  }

  /** Adds the host's assessment; false when the host has a later one already. */
  add(a: HostAssessment): boolean {
    const recency = recencyOf(a.precheck);
    if (this.#hosts.has(a.hostId) && !isLater(recency, this.#recency.get(a.hostId) ?? null)) return false;
    const c = classifyHost(a, this.#model);
    this.#hosts.set(a.hostId, c.host);
    this.#recency.set(a.hostId, recency);
    noteKinds(this.#inhibitors, c.inhibitors);
    noteKinds(this.#warnings, c.warnings);
    const preview = c.report?.preview;
    if (preview) this.#upgrades.set(a.hostId, { upgrades: preview.upgrades, installs: preview.installs });
    else this.#upgrades.delete(a.hostId);
    return true;
  }

  /** Whether the host has an assessment with a precheck. */
  hasPrecheck(hostId: string): boolean {
    return (this.#recency.get(hostId) ?? null) !== null;
  }

  build(now: Date = new Date()): PoolReport {
    const hosts = [...this.#hosts.values()].sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
    const counts = { hosts: hosts.length, ready: 0, warnings: 0, inhibited: 0, notAssessed: 0, reused: 0, truncated: 0 };
    const totals = { hosts: 0, downloadBytes: 0, installBytes: 0, upgrades: 0, installs: 0 };
    const seconds: number[] = [];
    const roles = new Map<string, number>();
    const notAssessed = new Map<NotAssessedReason, string[]>();
    for (const h of hosts) {
      if (h.status === 'not-assessed') counts.notAssessed += 1;
      else counts[h.status] += 1;
      if (h.source === 'reused') counts.reused += 1;
      if (h.reportTruncated) counts.truncated += 1;
      for (const r of h.roles) roles.set(r, (roles.get(r) ?? 0) + 1);
      if (h.notAssessed) {
        const list = notAssessed.get(h.notAssessed) ?? [];
        list.push(h.hostId);
        notAssessed.set(h.notAssessed, list);
      }
      const migratable = h.status === 'ready' || h.status === 'warnings';
      if (migratable && h.estimatedSeconds !== null) {
        const u = this.#upgrades.get(h.hostId) ?? { upgrades: 0, installs: 0 };
        totals.hosts += 1;
        totals.downloadBytes += h.downloadBytes ?? 0;
        totals.installBytes += h.installBytes ?? 0;
        totals.upgrades += u.upgrades;
        totals.installs += u.installs;
        seconds.push(h.estimatedSeconds);
      }
    }
    return {
      generatedAt: now.toISOString(),
      counts,
      notAssessed: NOT_ASSESSED_REASONS.flatMap((reason) => {
        const list = notAssessed.get(reason);
        return list ? [{ reason, hostCount: list.length, hosts: list }] : [];
      }),
      inhibitors: kindsOf(hosts, this.#inhibitors, (h) => h.inhibitors, findingKind),
      warnings: kindsOf(hosts, this.#warnings, (h) => h.warnings, findingKind),
      roles: [...roles]
        .map(([role, hostCount]) => ({ role, hostCount }))
        .sort((a, b) => b.hostCount - a.hostCount || (a.role < b.role ? -1 : 1)),
      totals,
      estimate: estimateDuration(seconds, this.#model),
      hosts,
    };
  }
}

/** The report of a whole list of hosts. */
export function buildPoolReport(assessments: Iterable<HostAssessment>, opts: { model?: EstimateModel; now?: Date } = {}): PoolReport {
  const builder = new PoolReportBuilder(opts.model);
  for (const a of assessments) builder.add(a);
  return builder.build(opts.now);
}

/** Hosts named per kind in an overview. */
export const OVERVIEW_HOSTS_PER_KIND = 20;

/**
 * The report without its per-host lines, naming at most `perKind` hosts of each finding
 * kind and reason (hostCount keeps the whole count): a 300,000-host report is about
 * 100 MB of JSON, its overview a few KiB.
 */
export function overviewOf(report: PoolReport, perKind = OVERVIEW_HOSTS_PER_KIND): Omit<PoolReport, 'hosts'> {
  const { hosts: _lines, ...rest } = report;
  const cap = <T extends { hosts: string[] }>(list: T[]): T[] => list.map((k) => ({ ...k, hosts: k.hosts.slice(0, perKind) }));
  return { ...rest, notAssessed: cap(rest.notAssessed), inhibitors: cap(rest.inhibitors), warnings: cap(rest.warnings) };
}
