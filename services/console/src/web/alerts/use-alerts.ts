// The alerting API read by the views. It has no event stream, so what changes is asked for
// again: the overview's firing alerts every OVERVIEW_MS, the alerts view's first page and
// the silences every LIST_MS (further pages are loaded on request and kept).
import { useCallback, useEffect, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, getJson } from '../api/client.ts';
import { startPolling } from '../hosts/polling.ts';
import {
  type AlertFilter,
  type AlertPage,
  type AlertView,
  alertsQuery,
  appendPage,
  keepsAlert,
  replaceAlert,
  type SilencePage,
  type SilenceView,
} from './alert-list.ts';

const OVERVIEW_MS = 10_000;
const LIST_MS = 10_000;
/** The overview's count is of the firing alerts on its first page at most. */
export const OVERVIEW_PAGE = 200;
const LIST_PAGE = 50;

export interface FiringAlerts {
  alerts: AlertView[] | null;
  /** More fire than one page holds: the count is a lower bound. */
  more: boolean;
  error: ConsoleApiError | null;
}

export function useFiringAlerts(): FiringAlerts {
  const [state, setState] = useState<FiringAlerts>({ alerts: null, more: false, error: null });
  useEffect(
    () =>
      startPolling(
        (signal) => getJson<AlertPage>(`${API.alerting}/v1/alerts?${alertsQuery('firing', null, OVERVIEW_PAGE)}`, signal),
        (page) => {
          setState({ alerts: page.items, more: page.nextCursor !== null, error: null });
          return OVERVIEW_MS;
        },
        (error) => setState((s) => ({ ...s, error })),
      ),
    [],
  );
  return state;
}

export interface AlertList {
  alerts: AlertView[] | null;
  nextCursor: string | null;
  loadingMore: boolean;
  error: ConsoleApiError | null;
  loadMore: () => void;
  /** An alert as an action answered it. */
  replace: (a: AlertView) => void;
  reload: () => void;
}

/**
 * The alerts of `filter`: the first page asked for again every LIST_MS (a further page
 * once loaded stays until the filter changes), filtered to what the filter keeps.
 */
export function useAlertList(filter: AlertFilter): AlertList {
  // The first page (asked for again) and the pages loaded after it (kept).
  const [first, setFirst] = useState<AlertView[] | null>(null);
  const [later, setLater] = useState<AlertView[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter starts empty
  useEffect(() => {
    setFirst(null);
    setLater([]);
    setNextCursor(null);
  }, [filter]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a round is an ask-again-now
  useEffect(
    () =>
      startPolling(
        (signal) => getJson<AlertPage>(`${API.alerting}/v1/alerts?${alertsQuery(filter, null, LIST_PAGE)}`, signal),
        (page) => {
          setFirst(page.items.filter((a) => keepsAlert(filter, a)));
          // Once a later page is loaded its cursor is the one to go on from.
          setNextCursor((old) => old ?? page.nextCursor);
          setError(null);
          return LIST_MS;
        },
        setError,
      ),
    [filter, round],
  );
  const loadMore = useCallback(() => {
    if (!nextCursor || loadingMore) return;
    setLoadingMore(true);
    getJson<AlertPage>(`${API.alerting}/v1/alerts?${alertsQuery(filter, nextCursor, LIST_PAGE)}`).then(
      (page) => {
        setLater((old) =>
          appendPage(
            old,
            page.items.filter((a) => keepsAlert(filter, a)),
          ),
        );
        setNextCursor(page.nextCursor ?? '');
        setLoadingMore(false);
      },
      (err: ConsoleApiError) => {
        setError(err);
        setLoadingMore(false);
      },
    );
  }, [filter, nextCursor, loadingMore]);
  const replace = useCallback(
    (a: AlertView) => {
      setFirst((old) => (old ? replaceAlert(old, a, filter) : old));
      setLater((old) => replaceAlert(old, a, filter));
    },
    [filter],
  );
  return {
    alerts: first === null ? null : appendPage(first, later),
    // '' once the last page is loaded: nothing more.
    nextCursor: nextCursor || null,
    loadingMore,
    error,
    loadMore,
    replace,
    reload: () => setRound((r) => r + 1),
  };
}

export interface SilenceList {
  silences: SilenceView[] | null;
  error: ConsoleApiError | null;
  reload: () => void;
}

/** The silences, active and pending first (the API's newest first within each), then expired. */
export function useSilences(): SilenceList {
  const [silences, setSilences] = useState<SilenceView[] | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a round is an ask-again-now
  useEffect(
    () =>
      startPolling(
        (signal) => getJson<SilencePage>(`${API.alerting}/v1/silences?state=all&limit=${LIST_PAGE}`, signal),
        (page) => {
          const rank = (s: SilenceView): number => (s.state === 'active' ? 0 : s.state === 'pending' ? 1 : 2);
          setSilences([...page.items].sort((a, b) => rank(a) - rank(b)));
          setError(null);
          return LIST_MS;
        },
        setError,
      ),
    [round],
  );
  return { silences, error, reload: () => setRound((r) => r + 1) };
}
