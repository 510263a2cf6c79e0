// A host and its runs (GET /v1/hosts/:host carries each run's history and its step's
// percent). While a run is live its plan's event stream is followed, and each event about
// this host asks again at once: a step turns green or red as it happens. The stream does
// not carry a step's percent, so the host is also asked again every POLL_MS while a run is
// live, and every IDLE_MS otherwise (a new plan may take the host).
import type { RunView } from '@yixing/scheduler';
import { useEffect, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, followEvents, getJson } from '../api/client.ts';
import { concernsHost } from './host-events.ts';
import { startPolling } from './polling.ts';
import { runIsLive } from './step-graph.ts';

const POLL_MS = 1500;
const IDLE_MS = 10_000;

export interface HostInfo {
  hostId: string;
  facts: { hostname: string; osId: string; osVersion: string; arch: string; kernel: string; roles?: string[] };
  labels: { pool: string; cluster: string; zone: string; rack: string; role: string };
  agentVersion: string;
  alive: boolean;
  activePlanId: string | null;
}

export interface HostDetail {
  host: HostInfo;
  runs: RunView[];
}

/** The host, the last error, and `reload` to ask again now (after an action). */
export function useHost(hostId: string): { detail: HostDetail | null; error: ConsoleApiError | null; reload: () => void } {
  const [detail, setDetail] = useState<HostDetail | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: another host starts empty
  useEffect(() => setDetail(null), [hostId]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a round is an ask-again-now
  useEffect(() => {
    return startPolling(
      (signal) => getJson<HostDetail>(`${API.scheduler}/v1/hosts/${encodeURIComponent(hostId)}`, signal),
      (d) => {
        setDetail(d);
        setError(null);
        return d.runs.some(runIsLive) ? POLL_MS : IDLE_MS;
      },
      setError,
    );
  }, [hostId, round]);
  const livePlan = detail?.runs.find(runIsLive)?.planId ?? null;
  useEffect(() => {
    if (livePlan === null) return;
    const ac = new AbortController();
    // A stream that breaks or ends leaves the polling to carry on.
    followEvents(
      `${API.scheduler}/v1/plans/${encodeURIComponent(livePlan)}/events`,
      (e) => {
        if (concernsHost(e, hostId)) setRound((r) => r + 1);
      },
      ac.signal,
    ).catch(() => {});
    return () => ac.abort();
  }, [livePlan, hostId]);
  return { detail, error, reload: () => setRound((r) => r + 1) };
}
