// Reads a host-run's log lines back from the YX_LOGS stream, in order, with an ordered
// (ephemeral) consumer filtered to the run's subject: nothing durable per host.
import type { JetStreamClient } from '@nats-io/jetstream';
import { type Bus, decode, LogStream, type StepName, stepName, subjectPattern } from '@yixing/common';

export interface LogLineView {
  seq: number;
  at: string;
  step: StepName | null;
  source: 'stdout' | 'stderr' | 'agent';
  text: string;
}

const SOURCE: Record<number, LogLineView['source']> = {
  [LogStream.STDOUT]: 'stdout',
  [LogStream.STDERR]: 'stderr',
  [LogStream.AGENT]: 'agent',
};

export async function readRunLog(
  bus: Bus,
  hostId: string,
  runId: string,
  opts: { step?: StepName; limit: number },
): Promise<LogLineView[]> {
  const js: JetStreamClient = bus.js;
  const subject = subjectPattern('logLine', { hostId, runId });
  const consumer = await js.consumers.get('YX_LOGS', { filter_subjects: [subject] });
  const lines: LogLineView[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
    let got = 0;
    let pending = 0;
    for await (const m of batch) {
      got++;
      pending = m.info.pending;
      let line: ReturnType<typeof decode<'logLine'>>;
      try {
        line = decode('logLine', m.data, m.subject);
      } catch {
        continue;
      }
      const step = line.step ? stepName(line.step) : null;
      if (opts.step && step !== opts.step) continue;
      lines.push({ seq: m.seq, at: new Date(line.atMs).toISOString(), step, source: SOURCE[line.source] ?? 'stdout', text: line.text });
      if (lines.length > opts.limit) lines.shift();
    }
    if (got === 0 || pending === 0) break;
  }
  return lines;
}
