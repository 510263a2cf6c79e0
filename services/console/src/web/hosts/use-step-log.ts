// A step's log lines: the last TAIL of them (GET /v1/hosts/:host/logs?runId&step, read to
// its end a page at a time), and, while the step runs, the lines that follow, asked for
// every POLL_MS from the last line's sequence.
import type { StepName } from '@yixing/common';
import { useEffect, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, getJson } from '../api/client.ts';
import { startPolling } from './polling.ts';

export const TAIL = 50;
const POLL_MS = 1500;
/** Pages read at most to reach a step's end (each up to the API's default page). */
const MAX_PAGES = 20;

export interface LogLine {
  seq: number;
  at: string | null;
  step: StepName | null;
  source: 'stdout' | 'stderr' | 'agent';
  text: string;
}

interface LogPage {
  lines: LogLine[];
  nextCursor: string | null;
}

/** The last `tail` lines of what was kept and what came (pure). */
export const keepTail = (kept: readonly LogLine[], more: readonly LogLine[], tail = TAIL): LogLine[] => [...kept, ...more].slice(-tail);

export function useStepLog(
  hostId: string,
  runId: string | null,
  step: StepName | null,
  live: boolean,
): { lines: LogLine[] | null; error: ConsoleApiError | null } {
  const [lines, setLines] = useState<LogLine[] | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  useEffect(() => {
    setLines(null);
    setError(null);
    if (!runId || !step) return;
    let kept: LogLine[] = [];
    const base = `${API.scheduler}/v1/hosts/${encodeURIComponent(hostId)}/logs?runId=${encodeURIComponent(runId)}&step=${encodeURIComponent(step)}`;
    const readOn = async (signal: AbortSignal): Promise<LogLine[]> => {
      for (let i = 0; i < MAX_PAGES; i++) {
        const after = kept.at(-1)?.seq;
        const page = await getJson<LogPage>(after === undefined ? base : `${base}&cursor=${after}`, signal);
        kept = keepTail(kept, page.lines);
        if (page.nextCursor === null || page.lines.length === 0) break;
      }
      return kept;
    };
    return startPolling(
      readOn,
      (read) => {
        setLines(read);
        setError(null);
        return live ? POLL_MS : null;
      },
      setError,
    );
  }, [hostId, runId, step, live]);
  return { lines, error };
}
