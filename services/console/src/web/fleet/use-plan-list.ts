// The fleet overview's live plan list: the first page of GET /v1/plans, refreshed now and
// then (new plans), and each live plan's event stream followed so its row moves as hosts do.

import type { PlanView } from '@yixing/scheduler';
import { useEffect, useRef, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, followEvents, getJson } from '../api/client.ts';
import { applyPlanSnapshot, type PlanPage, type PlanSummary, plansToFollow } from './plan-list.ts';

/** Open event streams at most (each holds one of the scheduler's stream slots). */
const MAX_STREAMS = 8;
const REFRESH_MS = 10_000;
const RECONNECT_MS = 3_000;

export interface PlanListState {
  plans: PlanSummary[] | null;
  error: ConsoleApiError | null;
  /** Plans whose event stream is open now. */
  live: ReadonlySet<string>;
  refresh: () => void;
}

export function usePlanList(): PlanListState {
  const [plans, setPlans] = useState<PlanSummary[] | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const [live, setLive] = useState<ReadonlySet<string>>(new Set());
  const [tick, setTick] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new tick is what asks for a fresh page
  useEffect(() => {
    const ac = new AbortController();
    getJson<PlanPage>(`${API.scheduler}/v1/plans`, ac.signal).then(
      (page) => {
        setPlans(page.items);
        setError(null);
      },
      (err: ConsoleApiError) => {
        if (!ac.signal.aborted) setError(err);
      },
    );
    const timer = setTimeout(() => setTick((t) => t + 1), REFRESH_MS);
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [tick]);

  const followed = plans ? plansToFollow(plans, MAX_STREAMS).join(',') : '';
  const streams = useRef(new Map<string, AbortController>());
  useEffect(() => {
    const wanted = new Set(followed ? followed.split(',') : []);
    const open = streams.current;
    for (const [id, ac] of open) {
      if (!wanted.has(id)) {
        ac.abort();
        open.delete(id);
      }
    }
    for (const id of wanted) {
      if (open.has(id)) continue;
      const ac = new AbortController();
      open.set(id, ac);
      const follow = (): void => {
        setLive((s) => new Set(s).add(id));
        followEvents(
          `${API.scheduler}/v1/plans/${encodeURIComponent(id)}/events`,
          (e) => {
            if (e.event === 'plan') setPlans((ps) => (ps ? applyPlanSnapshot(ps, e.data as PlanView) : ps));
          },
          ac.signal,
        )
          .catch(() => {})
          .finally(() => {
            setLive((s) => {
              const n = new Set(s);
              n.delete(id);
              return n;
            });
            // A stream ends with its plan, or breaks: the next refresh shows which; a
            // break is followed again after a pause.
            if (!ac.signal.aborted) setTimeout(() => !ac.signal.aborted && follow(), RECONNECT_MS);
          });
      };
      follow();
    }
  }, [followed]);
  useEffect(
    () => () => {
      for (const ac of streams.current.values()) ac.abort();
      streams.current.clear();
    },
    [],
  );

  return { plans, error, live, refresh: () => setTick((t) => t + 1) };
}
