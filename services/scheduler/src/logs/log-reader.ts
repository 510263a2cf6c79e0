// Reads a host-run's log lines back from the YX_LOGS stream, a page at a time, with an
// ordered (ephemeral) consumer filtered to the run's subject and started after the cursor
// (a stream sequence): nothing durable per host, and a read fetches only what its page
// needs. A line that does not decode is skipped; one with an impossible time keeps its
// text and has no time.
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { decode, LogStream, type StepName, stepName, subjectPattern } from '@yixing/common';

export interface LogLineView {
  seq: number;
  /** null when the agent sent a time no date can hold. */
  at: string | null;
  step: StepName | null;
  source: 'stdout' | 'stderr' | 'agent';
  text: string;
}

export interface LogPage {
  lines: LogLineView[];
  /** Pass as `after` for the next page; null when the run had no more lines at the time of the read. */
  nextCursor: number | null;
  /** Messages read from the stream for this page (lines of other steps and undecodable ones too). */
  scanned: number;
}

const SOURCE: Record<number, LogLineView['source']> = {
  [LogStream.STDOUT]: 'stdout',
  [LogStream.STDERR]: 'stderr',
  [LogStream.AGENT]: 'agent',
};

/** The most messages one page reads while filtering by step, whatever it found. */
export const MAX_SCAN = 10_000;

// Dates hold ±8.64e15 ms around the epoch; anything else (1e300, NaN) has no ISO form.
const MAX_DATE_MS = 8.64e15;

/** ISO time of a line's atMs, or null when it is not a time. */
export function lineTime(atMs: number): string | null {
  return Number.isFinite(atMs) && Math.abs(atMs) <= MAX_DATE_MS ? new Date(atMs).toISOString() : null;
}

export async function readRunLog(
  bus: { js: JetStreamClient },
  hostId: string,
  runId: string,
  opts: { step?: StepName; limit: number; after?: number },
): Promise<LogPage> {
  const subject = subjectPattern('logLine', { hostId, runId });
  const consumer = await bus.js.consumers.get('YX_LOGS', {
    filter_subjects: [subject],
    ...(opts.after ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.after + 1 } : {}),
  });
  let pending = (await consumer.info(true)).num_pending;
  const lines: LogLineView[] = [];
  const budget = Math.max(opts.limit, opts.step ? MAX_SCAN : opts.limit);
  let scanned = 0;
  let last = opts.after ?? 0;
  while (pending > 0 && lines.length < opts.limit && scanned < budget) {
    // Without a step filter every message is a line: ask for exactly what the page lacks.
    const want = Math.min(opts.step ? budget - scanned : opts.limit - lines.length, pending, 1000);
    const batch = await consumer.fetch({ max_messages: want, expires: 5_000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      scanned++;
      last = m.seq;
      pending = m.info.pending;
      let line: ReturnType<typeof decode<'logLine'>>;
      try {
        line = decode('logLine', m.data, m.subject);
      } catch {
        continue;
      }
      const step = line.step ? stepName(line.step) : null;
      if (opts.step && step !== opts.step) continue;
      lines.push({ seq: m.seq, at: lineTime(line.atMs), step, source: SOURCE[line.source] ?? 'stdout', text: line.text });
      if (lines.length >= opts.limit) break;
    }
    if (got === 0) break;
  }
  return { lines, nextCursor: pending > 0 ? last : null, scanned };
}
