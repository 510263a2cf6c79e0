// Reads a host-run's log lines back from the logs stream, a page at a time, with an
// ordered (ephemeral) consumer filtered to the run's subject and started after the cursor
// (a stream sequence): nothing durable per host, and a read fetches only what its page
// needs. A tail (the last N lines) starts its consumer at the run's N-th last line, found
// by the consumer's pending count, so it too reads only what it returns. A line that does
// not decode is skipped; one with an impossible time keeps its text and has no time.
import { AckPolicy, type Consumer, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { decode, subjectPattern } from '../bus/codec.ts';
import { catalog } from '../gen/catalog.ts';
import { LogStream } from '../gen/yixing/v1/events_pb.js';
import { type StepName, stepName } from '../steps.ts';

/** The stream that captures log lines, as the catalog says. */
const LOG_STREAM = catalog.logLine.stream;

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

/** The most messages one fetch asks the server for. */
const FETCH_BATCH = 1000;

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
  const consumer = await bus.js.consumers.get(LOG_STREAM, {
    filter_subjects: [subjectPattern('logLine', { hostId, runId })],
    ...(opts.after ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.after + 1 } : {}),
  });
  try {
    return await readPage(consumer, (await consumer.info(true)).num_pending, opts);
  } finally {
    await dropConsumer(consumer);
  }
}

/**
 * The last `tail` lines of a run, oldest first. The run's lines are interleaved with other
 * runs' in the stream, so the sequence of its tail-th last line is searched for with one
 * consumer whose pending count says how many of the run's lines follow a sequence: from
 * the run's last line backwards, doubling the distance, then halving between the bounds.
 * A probe moves the consumer (a reset) and reads no message; where the run's lines are
 * dense, the first probe is the answer.
 */
export async function readRunLogTail(bus: { js: JetStreamClient }, hostId: string, runId: string, tail: number): Promise<LogPage> {
  const subject = subjectPattern('logLine', { hostId, runId });
  const jsm = await bus.js.jetstreamManager();
  const last = await jsm.streams.getMessage(LOG_STREAM, { last_by_subj: subject }).catch(notFoundAsNull);
  if (!last) return { lines: [], nextCursor: null, scanned: 0 };
  // From the stream's start: a reset may only move a consumer past its start sequence.
  const info = await jsm.consumers.add(LOG_STREAM, {
    filter_subject: subject,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: 1,
    mem_storage: true,
    num_replicas: 1,
    // Removed below; if this process dies first, the server drops it soon.
    inactive_threshold: nanos(30_000),
  });
  const consumer = bus.js.consumers.getConsumerFromInfo(info);
  try {
    let positioned = 1;
    const linesFrom = async (seq: number): Promise<number> => {
      positioned = seq;
      return (await jsm.consumers.reset(LOG_STREAM, info.name, seq)).num_pending;
    };
    const start = await seekTail(linesFrom, last.seq, tail, info.num_pending);
    if (positioned !== start.seq) await linesFrom(start.seq);
    return await readPage(consumer, start.lines, { limit: tail });
  } finally {
    await dropConsumer(consumer);
  }
}

/**
 * A stream sequence from which the run has `tail` lines (1 when it has no more than that),
 * and how many it has from there. `linesFrom(seq)` counts the run's lines from `seq` on;
 * `total` is the count from 1, and `lastSeq` the sequence of the run's last line.
 */
export async function seekTail(
  linesFrom: (seq: number) => Promise<number>,
  lastSeq: number,
  tail: number,
  total: number,
): Promise<{ seq: number; lines: number }> {
  if (total <= tail) return { seq: 1, lines: total };
  // From `lo` the run has more than `tail` lines, from `hi` fewer.
  let lo = 1;
  let loLines = total;
  let hi = lastSeq + 1;
  for (let distance = tail; ; distance *= 2) {
    const seq = lastSeq - distance + 1;
    if (seq <= 1) break;
    const n = await linesFrom(seq);
    if (n === tail) return { seq, lines: n };
    if (n > tail) {
      lo = seq;
      loLines = n;
      break;
    }
    hi = seq;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const n = await linesFrom(mid);
    if (n === tail) return { seq: mid, lines: n };
    if (n > tail) {
      lo = mid;
      loLines = n;
    } else hi = mid;
  }
  // Not reached: the counts from two adjacent sequences differ by one at most.
  return { seq: lo, lines: loLines };
}

const notFoundAsNull = (err: unknown): null => {
  if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return null;
  throw err;
};

/** An ephemeral consumer is removed once read; failing that, its inactivity threshold removes it. */
async function dropConsumer(consumer: Consumer): Promise<void> {
  try {
    await consumer.delete();
  } catch {
    // The server removes it after its inactive threshold.
  }
}

async function readPage(
  consumer: Consumer,
  pendingAtStart: number,
  opts: { step?: StepName; limit: number; after?: number },
): Promise<LogPage> {
  let pending = pendingAtStart;
  const lines: LogLineView[] = [];
  const budget = Math.max(opts.limit, opts.step ? MAX_SCAN : opts.limit);
  let scanned = 0;
  let last = opts.after ?? 0;
  while (pending > 0 && lines.length < opts.limit && scanned < budget) {
    // Without a step filter every message is a line: ask for exactly what the page lacks.
    const want = Math.min(opts.step ? budget - scanned : opts.limit - lines.length, pending, FETCH_BATCH);
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
