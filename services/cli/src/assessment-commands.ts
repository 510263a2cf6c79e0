// `yx plan assessment PLAN` and `yx assessment`: the pool report of a plan's hosts, or of
// every host's latest assessment, as a readable summary, as JSON, or as CSV; --output
// writes the report (CSV with --csv, else JSON) to a file and prints the summary.
import { writeFile } from 'node:fs/promises';
import type { ApiClient } from './api-client.ts';
import { count, type Io, need, type Printer, seg, UsageError, type Values } from './cli-kit.ts';

/** Finding kinds listed in the summary; the rest are counted. */
const TOP_KINDS = 10;
/** Hosts named per kind in the summary; the JSON and CSV have them all. */
const HOSTS_NAMED = 5;

interface FindingKind {
  kind: string;
  severity: string;
  title: string;
  remediation: string;
  hostCount: number;
  hosts: string[];
}

export interface PoolReport {
  scope: { kind: 'plan' | 'fleet'; planId?: string };
  counts: { hosts: number; ready: number; warnings: number; inhibited: number; notAssessed: number; reused: number; truncated: number };
  notAssessed: { reason: string; hostCount: number; hosts: string[] }[];
  inhibitors: FindingKind[];
  warnings: FindingKind[];
  roles: { role: string; hostCount: number }[];
  totals: { hosts: number; downloadBytes: number; installBytes: number; upgrades: number; installs: number };
  estimate: {
    model: { bytesPerSecond: number; secondsPerPackage: number; fixedSeconds: number; slots: number };
    hosts: number;
    totalHostSeconds: number;
    longestHostSeconds: number;
    makespanSeconds: number;
  };
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${n < 0 ? '-' : ''}${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const parts: [number, string][] = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

function kinds(title: string, list: FindingKind[], withFix: boolean): string[] {
  if (list.length === 0) return [];
  const lines = [`${title}:`];
  for (const k of list.slice(0, TOP_KINDS)) {
    lines.push(`  ${k.kind}  ${k.hostCount} host${k.hostCount === 1 ? '' : 's'}  ${k.severity}  ${k.title}`);
    if (withFix && k.remediation) lines.push(`      fix: ${k.remediation}`);
    const rest = k.hostCount - HOSTS_NAMED;
    lines.push(`      ${k.hosts.slice(0, HOSTS_NAMED).join(', ')}${rest > 0 ? ` (+${rest} more)` : ''}`);
  }
  if (list.length > TOP_KINDS) lines.push(`  (+${list.length - TOP_KINDS} more kinds: --json or --csv)`);
  return lines;
}

/** The report in a few lines: counts, top inhibitors with their fix and hosts, download, estimate. */
export function summary(r: PoolReport): string {
  const c = r.counts;
  const what = r.scope.kind === 'plan' ? `plan ${r.scope.planId}` : 'fleet';
  const lines = [
    `${what}: ${c.hosts} hosts: ${c.ready} ready, ${c.warnings} with warnings, ${c.inhibited} inhibited, ${c.notAssessed} not assessed` +
      (c.reused > 0 ? ` (${c.reused} by an earlier assessment, their facts unchanged)` : ''),
  ];
  if (r.notAssessed.length > 0) lines.push(`not assessed: ${r.notAssessed.map((n) => `${n.hostCount} ${n.reason}`).join(', ')}`);
  if (c.truncated > 0) lines.push(`${c.truncated} reports were cut short when stored: read up to the cut, their roles may be missing`);
  lines.push(...kinds('inhibitors', r.inhibitors, true), ...kinds('warnings', r.warnings, false));
  if (r.roles.length > 0) lines.push(`roles: ${r.roles.map((x) => `${x.role} ${x.hostCount}`).join(', ')}`);
  const t = r.totals;
  const e = r.estimate;
  const m = e.model;
  lines.push(
    `download: ${bytes(t.downloadBytes)} for the ${t.hosts} hosts that could migrate now (${t.upgrades} upgrades, ${t.installs} new packages); installed size ${t.installBytes < 0 ? '' : '+'}${bytes(t.installBytes)}`,
    `estimate: ${duration(e.makespanSeconds)} with ${m.slots} hosts at a time (longest host ${duration(e.longestHostSeconds)}; ` +
      `model: ${bytes(m.bytesPerSecond)}/s, ${m.secondsPerPackage} s a package, ${m.fixedSeconds} s a host)`,
  );
  return lines.join('\n');
}

/** The query of the report: the estimate's slots and, for the fleet, the label filters. */
function query(v: Values, labels: boolean): URLSearchParams {
  const q = new URLSearchParams();
  if (labels) for (const k of ['pool', 'cluster', 'zone', 'rack', 'role'] as const) if (v[k]) q.set(k, v[k] as string);
  if (v.slots !== undefined) q.set('slots', String(count('--slots', v.slots)));
  return q;
}

/** `yx plan assessment PLAN`, `yx assessment`. */
export async function assessmentCommands(pos: string[], v: Values, api: ApiClient, io: Io, { out, json }: Printer): Promise<number> {
  const [noun, verb, id, extra] = pos;
  let path: string;
  let q: URLSearchParams;
  if (noun === 'plan' && verb === 'assessment') {
    if (extra !== undefined) throw new UsageError('one PLAN at a time');
    path = `/v1/plans/${seg(need(id, 'PLAN'))}/assessment`;
    q = query(v, false);
  } else if (noun === 'assessment' && verb === undefined) {
    path = '/v1/assessment';
    q = query(v, true);
  } else throw new UsageError(`unknown command "${pos.join(' ')}"`);
  if (v.csv && v.json) throw new UsageError('--csv or --json, not both');
  const url = (extra: Record<string, string> = {}) => {
    const p = new URLSearchParams(q);
    for (const [k, val] of Object.entries(extra)) p.set(k, val);
    return p.size > 0 ? `${path}?${p}` : path;
  };
  if (v.output !== undefined) {
    const file = need(v.output, '--output FILE');
    const report = await api.get<PoolReport>(url());
    const body = v.csv ? await api.getText(url({ format: 'csv' })) : `${JSON.stringify(report, null, 2)}\n`;
    await writeFile(file, body).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot write ${file}: ${err.code ?? err.message}`);
    });
    out(summary(report));
    io.stderr.write(`(the report, ${v.csv ? 'CSV' : 'JSON'}: ${file})\n`);
    return 0;
  }
  if (v.csv) {
    io.stdout.write(await api.getText(url({ format: 'csv' })));
    return 0;
  }
  // The summary needs no per-host lines: the overview (a few KiB for any pool).
  if (v.json) json(await api.get<PoolReport>(url()));
  else out(summary(await api.get<PoolReport>(url({ view: 'overview' }))));
  return 0;
}
