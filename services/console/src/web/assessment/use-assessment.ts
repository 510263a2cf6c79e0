// The assessment view's data: the report's overview (asked again on a new address or a
// refresh), a drill-down's hosts a page at a time, and the CSV handed to the browser as a
// file.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { getFile, getJson } from '../api/client.ts';
import { addPage, type GroupPage, type GroupPages, noPages, wantsMore } from './group-pages.ts';
import { attachmentName, groupHostsUrl, type ReportFilters, type ReportScope, reportUrl } from './report-query.ts';
import { nextPollMs, type ReportOverview } from './report-shape.ts';

export interface AssessmentState {
  report: ReportOverview | null;
  error: ConsoleApiError | null;
  loading: boolean;
  refresh: () => void;
}

export function useAssessment(scope: ReportScope, filters: ReportFilters): AssessmentState {
  const overviewUrl = reportUrl(scope, filters, 'overview');
  const [report, setReport] = useState<ReportOverview | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new tick is what asks again
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setLoading(true);
    getJson<ReportOverview>(overviewUrl, ac.signal).then(
      (r) => {
        setReport(r);
        setError(null);
        setLoading(false);
        // Hosts still being assessed: the report is asked for again until they are.
        const ms = nextPollMs(r);
        if (ms !== null) timer = setTimeout(() => setTick((t) => t + 1), ms);
      },
      (err: ConsoleApiError) => {
        if (ac.signal.aborted) return;
        setReport(null);
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [overviewUrl, tick]);

  return { report, error, loading, refresh: () => setTick((t) => t + 1) };
}

export interface GroupHostsState {
  pages: GroupPages;
  error: ConsoleApiError | null;
  /** Call with the last row in sight: asks for the next page when it is near. */
  seen: (lastVisibleIndex: number) => void;
}

/** A group's hosts, a page at a time from the first; one request at a time. */
export function useGroupHosts(scope: ReportScope, filters: ReportFilters, group: string, hostCount: number): GroupHostsState {
  const [pages, setPages] = useState<GroupPages>(() => noPages(hostCount));
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const asking = useRef<AbortController | null>(null);
  const latest = useRef(pages);
  latest.current = pages;
  const base = groupHostsUrl(scope, filters, group, null);

  const seen = useCallback(
    (lastVisibleIndex: number): void => {
      const now = latest.current;
      if (asking.current || !wantsMore(now, lastVisibleIndex)) return;
      const ac = new AbortController();
      asking.current = ac;
      const cursor = now.cursor ? `&cursor=${encodeURIComponent(now.cursor)}` : '';
      getJson<GroupPage>(`${base}${cursor}`, ac.signal).then(
        (page) => {
          asking.current = null;
          setError(null);
          setPages((p) => addPage(p, page));
        },
        (err: ConsoleApiError) => {
          asking.current = null;
          if (!ac.signal.aborted) setError(err);
        },
      );
    },
    [base],
  );
  // Another address starts over; leaving stops the request in flight.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new address or count is what starts over
  useEffect(() => {
    setPages(noPages(hostCount));
    return () => {
      asking.current?.abort();
      asking.current = null;
    };
  }, [base, hostCount]);
  useEffect(() => {
    if (pages.hosts.length === 0 && !pages.done) seen(0);
  }, [pages, seen]);
  return { pages, error, seen };
}

/**
 * Downloads the report's CSV: fetched with the bearer token (a plain link would carry no
 * token), then saved through a temporary object URL under the name the API gives.
 */
export async function downloadCsv(scope: ReportScope, filters: ReportFilters): Promise<void> {
  const { blob, disposition } = await getFile(reportUrl(scope, filters, 'csv'));
  const fallback = scope.kind === 'plan' ? `assessment-${scope.planId}.csv` : 'assessment-fleet.csv';
  const href = URL.createObjectURL(blob);
  try {
    const a = document.createElement('a');
    a.href = href;
    a.download = attachmentName(disposition, fallback);
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    // The click has handed the blob to the download; revoke once it has started.
    setTimeout(() => URL.revokeObjectURL(href), 10_000);
  }
}
