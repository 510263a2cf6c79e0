// A package manager command's phases as spans under the step's: `pm download` (packages
// fetched), `pm transaction` (unpacked, installed, removed: rpm's or dpkg's work) and,
// under it, `pm scripts` (the packages' scriptlets, maintainer scripts and triggers).
// apt, dpkg and dnf run as child processes, so the phases are read from the progress
// lines they print, each stamped when it reached the agent: a phase starts with its first
// line and the download ends where the transaction's first line comes. Scriptlets run
// between package operations (rpm's %pre/%post, apt's immediate configuration), so the
// scripts span covers the first to the last script and says how much of that time the
// scripts themselves took (each script line until the next progress line). Sizes are as
// the tool prints them (rounded). No line of a phase: no span for it.
import { startSpan } from '@yixing/common/base';

export type PmTool = 'apt' | 'dpkg' | 'dnf';
type Phase = 'download' | 'transaction' | 'scripts';

/** What one progress line says (pure): its phase, and what it counts. */
export interface LineClass {
  phase: Phase;
  /** A package fetched (download), installed or upgraded (transaction), or a script run. */
  counts?: 'package' | 'removal' | 'script';
  /** Bytes this line reports: one package's (`item`) or the whole download's (`total`). */
  bytes?: { n: number; of: 'item' | 'total' };
}

const SI: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 };
const BINARY: Record<string, number> = { '': 1, k: 1024, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "41.5 kB" (apt: powers of 1000) or "1.7 MB" (dnf: powers of 1024) as bytes. */
export function sizeBytes(text: string, units: 'si' | 'binary'): number | undefined {
  const m = /^([\d.,]+)\s*([kKMG]?)B?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number((m[1] as string).replace(/,/g, ''));
  const scale = (units === 'si' ? SI : BINARY)[m[2] as string];
  return Number.isFinite(n) && scale !== undefined ? Math.round(n * scale) : undefined;
}

/** An apt-get or dpkg progress line's class (apt-get runs dpkg: one format). */
export function classifyAptLine(line: string): LineClass | undefined {
  const get = /^Get:\d+\s.*?(?:\[([\d.,]+\s*[kMG]?B)\])?\s*$/.exec(line);
  if (get) {
    const n = get[1] ? sizeBytes(get[1], 'si') : undefined;
    return { phase: 'download', counts: 'package', ...(n !== undefined ? { bytes: { n, of: 'item' as const } } : {}) };
  }
  const fetched = /^Fetched ([\d.,]+\s*[kMG]?B) in /.exec(line);
  if (fetched) {
    const n = sizeBytes(fetched[1] as string, 'si');
    return { phase: 'download', ...(n !== undefined ? { bytes: { n, of: 'total' as const } } : {}) };
  }
  if (/^(Hit|Ign):\d+\s/.test(line)) return { phase: 'download' };
  if (/^Unpacking \S+/.test(line)) return { phase: 'transaction', counts: 'package' };
  if (/^Removing \S+ \(/.test(line)) return { phase: 'transaction', counts: 'removal' };
  if (/^(Preparing to unpack |Selecting previously unselected package |\(Reading database|Purging configuration files for )/.test(line))
    return { phase: 'transaction' };
  if (/^(Setting up \S+|Processing triggers for \S+)/.test(line)) return { phase: 'scripts', counts: 'script' };
  return undefined;
}

/** A dnf progress line's class (dnf 4's output to a pipe). */
export function classifyDnfLine(line: string): LineClass | undefined {
  if (line.startsWith('Downloading Packages:')) return { phase: 'download' };
  const item = /^\(\d+\/\d+\): \S.*\|\s*([\d.]+\s*[kMG]?B)\s+\S+\s*$/.exec(line);
  if (item || /^\(\d+\/\d+\): \S/.test(line)) {
    const n = item ? sizeBytes(item[1] as string, 'binary') : undefined;
    return { phase: 'download', counts: 'package', ...(n !== undefined ? { bytes: { n, of: 'item' as const } } : {}) };
  }
  const total = /^Total\s.*\|\s*([\d.]+\s*[kMG]?B)\s/.exec(line);
  if (total) {
    const n = sizeBytes(total[1] as string, 'binary');
    return { phase: 'download', ...(n !== undefined ? { bytes: { n, of: 'total' as const } } : {}) };
  }
  if (/^\s+Running scriptlet:/.test(line)) return { phase: 'scripts', counts: 'script' };
  const op = /^\s+(Installing|Upgrading|Downgrading|Reinstalling|Erasing|Obsoleting|Preparing|Cleanup|Verifying)\s*:/.exec(line)?.[1];
  if (op) {
    const counts = ['Installing', 'Upgrading', 'Downgrading', 'Reinstalling'].includes(op)
      ? ('package' as const)
      : ['Erasing', 'Obsoleting'].includes(op)
        ? ('removal' as const)
        : undefined;
    return { phase: 'transaction', ...(counts ? { counts } : {}) };
  }
  if (/^(Running transaction( check| test)?|Transaction (check|test) succeeded\.)\s*$/.test(line)) return { phase: 'transaction' };
  return undefined;
}

/** What the command does, for the spans: dnf's and apt-get's subcommand, dpkg's action. */
export function commandLabel(tool: PmTool, argv: readonly string[]): string {
  const args = argv.slice(1);
  if (tool === 'dpkg') return args.find((a) => /^--(install|unpack|configure|remove|purge)$/.test(a))?.slice(2) ?? 'dpkg';
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-o' || a === '-c') i++;
    else if (!a.startsWith('-')) return a;
  }
  return tool;
}

/** A span to make: name, times (epoch ms), attributes, failure; `underTransaction`: the transaction's child. */
export interface PhaseSpan {
  name: 'pm download' | 'pm transaction' | 'pm scripts';
  start: number;
  end: number;
  attributes: Record<string, string | number>;
  failure?: string;
  underTransaction?: boolean;
}

/** Reads a command's progress lines as they come, then says which phase spans it had (pure but for the clock). */
export class PhaseReader {
  readonly #classify: (line: string) => LineClass | undefined;
  readonly #clock: () => number;
  readonly #base: Record<string, string>;
  #download: { start: number; packages: number; itemBytes: number; totalBytes?: number } | undefined;
  #transaction: { start: number; packages: number; removals: number } | undefined;
  #scripts: { start: number; end: number; count: number; ms: number; open?: number } | undefined;
  #last: Phase | undefined;

  constructor(tool: PmTool, argv: readonly string[], clock: () => number = Date.now) {
    this.#classify = tool === 'dnf' ? classifyDnfLine : classifyAptLine;
    this.#clock = clock;
    this.#base = { 'yx.pm.tool': tool, 'yx.pm.command': commandLabel(tool, argv) };
  }

  line(text: string): void {
    const c = this.#classify(text);
    if (!c) return;
    const at = this.#clock();
    const s = this.#scripts;
    if (s?.open !== undefined) {
      s.ms += at - s.open;
      s.end = at;
      s.open = undefined;
    }
    if (c.phase === 'download') {
      const d = this.#download ?? { start: at, packages: 0, itemBytes: 0 };
      this.#download = d;
      if (c.counts === 'package') d.packages++;
      if (c.bytes?.of === 'item') d.itemBytes += c.bytes.n;
      if (c.bytes?.of === 'total') d.totalBytes = c.bytes.n;
    } else {
      const t = this.#transaction ?? { start: at, packages: 0, removals: 0 };
      this.#transaction = t;
      if (c.counts === 'package') t.packages++;
      if (c.counts === 'removal') t.removals++;
      if (c.phase === 'scripts') {
        const sc = this.#scripts ?? { start: at, end: at, count: 0, ms: 0 };
        this.#scripts = sc;
        sc.count++;
        sc.open = at;
      }
    }
    this.#last = c.phase;
  }

  /** The phases seen, ended at the command's end (now); `failure` marks the phase it stopped in. */
  spans(failure?: string): PhaseSpan[] {
    const end = this.#clock();
    const out: PhaseSpan[] = [];
    const d = this.#download;
    const t = this.#transaction;
    const s = this.#scripts;
    if (s?.open !== undefined) {
      s.ms += end - s.open;
      s.end = end;
    }
    const failed = (phase: Phase): { failure?: string } =>
      failure !== undefined && (this.#last === phase || (phase === 'transaction' && this.#last === 'scripts')) ? { failure } : {};
    if (d) {
      const bytes = d.totalBytes ?? d.itemBytes;
      out.push({
        name: 'pm download',
        start: d.start,
        end: t ? Math.max(d.start, t.start) : end,
        attributes: { ...this.#base, 'yx.pm.packages': d.packages, ...(bytes > 0 ? { 'yx.pm.bytes': bytes } : {}) },
        ...failed('download'),
      });
    }
    if (t) {
      out.push({
        name: 'pm transaction',
        start: t.start,
        end,
        attributes: { ...this.#base, 'yx.pm.packages': t.packages, 'yx.pm.removals': t.removals, 'yx.pm.scripts': s?.count ?? 0 },
        ...failed('transaction'),
      });
    }
    if (s) {
      out.push({
        name: 'pm scripts',
        start: s.start,
        end: s.end,
        attributes: { ...this.#base, 'yx.pm.scripts': s.count, 'yx.pm.scripts_ms': s.ms },
        ...failed('scripts'),
        underTransaction: true,
      });
    }
    return out;
  }
}

/** Makes the phase spans, children of the active span (the step's). */
export function emitPhaseSpans(phases: readonly PhaseSpan[]): void {
  let transaction = '';
  for (const p of phases) {
    const span = startSpan(p.name, {
      ...(p.underTransaction && transaction ? { parent: transaction } : {}),
      attributes: p.attributes,
      startTime: p.start,
    });
    if (p.name === 'pm transaction') transaction = span.traceparent;
    span.end(p.failure, p.end);
  }
}

type OnLine = (line: string, source: 'stdout' | 'stderr') => void;

/**
 * Runs a package manager command whose output goes to `log` and is read for its phases,
 * which become spans when it ends: failed in the phase it stopped in when `run` throws.
 */
export async function withPhaseSpans<T>(
  tool: PmTool,
  argv: readonly string[],
  log: OnLine,
  run: (onLine: OnLine) => Promise<T>,
): Promise<T> {
  const reader = new PhaseReader(tool, argv);
  const onLine: OnLine = (line, source) => {
    reader.line(line);
    log(line, source);
  };
  try {
    const r = await run(onLine);
    emitPhaseSpans(reader.spans());
    return r;
  } catch (err) {
    emitPhaseSpans(reader.spans((err as Error).message));
    throw err;
  }
}
