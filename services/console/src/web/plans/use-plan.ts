// One plan, live: GET /v1/plans/:id, then (while the plan still changes) its event stream
// followed, each `plan` snapshot replacing the view (counts from the server, never counted
// here) and each `host` change handed to whoever listens (the drill-down's rows). A stream
// that breaks is followed again after a pause; one that ends with its plan is not.
import type { PlanView } from '@yixing/scheduler';
import { useEffect, useRef, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, followEvents, getJson } from '../api/client.ts';
import { LIVE_STATES } from '../fleet/plan-list.ts';
import type { HostChange } from './host-pages.ts';

const RECONNECT_MS = 3_000;

export interface PlanState {
  plan: PlanView | null;
  error: ConsoleApiError | null;
  /** Whether the plan's event stream is open now. */
  live: boolean;
}

export function usePlan(planId: string, onHost?: (change: HostChange) => void): PlanState {
  const [plan, setPlan] = useState<PlanView | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const [live, setLive] = useState(false);
  const listener = useRef(onHost);
  listener.current = onHost;

  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setPlan(null);
    setError(null);
    const again = (): void => {
      if (!ac.signal.aborted) timer = setTimeout(round, RECONNECT_MS);
    };
    // Read the plan; follow it while it lives; when the stream ends, read it again.
    function round(): void {
      getJson<PlanView>(`${API.scheduler}/v1/plans/${encodeURIComponent(planId)}`, ac.signal)
        .then((view) => {
          if (ac.signal.aborted) return;
          setPlan(view);
          setError(null);
          if (!LIVE_STATES.has(view.state)) return;
          setLive(true);
          return followEvents(
            `${API.scheduler}/v1/plans/${encodeURIComponent(planId)}/events`,
            (e) => {
              if (e.event === 'plan') setPlan(e.data as PlanView);
              else if (e.event === 'host') listener.current?.(e.data as HostChange);
            },
            ac.signal,
          )
            .catch(() => {})
            .finally(() => {
              setLive(false);
              again();
            });
        })
        .catch((err: ConsoleApiError) => {
          if (ac.signal.aborted) return;
          setError(err);
          if (err.retryable) again();
        });
    }
    round();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [planId]);

  return { plan, error, live };
}
