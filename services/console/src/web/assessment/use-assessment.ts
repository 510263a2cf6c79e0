// The assessment view's data: the report's overview (asked again on a new address or a
// refresh), the full report only when a drill-down needs more hosts than the overview
// names (it can be large: one line per host), and the CSV handed to the browser as a file.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { getFile, getJson } from '../api/client.ts';
import { attachmentName, type ReportFilters, type ReportScope, reportUrl } from './report-query.ts';
import type { FullReport, ReportOverview } from './report-shape.ts';

export interface AssessmentState {
  report: ReportOverview | null;
  error: ConsoleApiError | null;
  loading: boolean;
  refresh: () => void;
  /** The full report, asked for once per address; resolves to null if it failed (error set). */
  fullReport: () => Promise<FullReport | null>;
}

export function useAssessment(scope: ReportScope, filters: ReportFilters): AssessmentState {
  const overviewUrl = reportUrl(scope, filters, 'overview');
  const fullUrl = reportUrl(scope, filters, 'full');
  const [report, setReport] = useState<ReportOverview | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const full = useRef<{ url: string; tick: number; answer: Promise<FullReport | null> } | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new tick is what asks again
  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    getJson<ReportOverview>(overviewUrl, ac.signal).then(
      (r) => {
        setReport(r);
        setError(null);
        setLoading(false);
      },
      (err: ConsoleApiError) => {
        if (ac.signal.aborted) return;
        setReport(null);
        setError(err);
        setLoading(false);
      },
    );
    return () => ac.abort();
  }, [overviewUrl, tick]);

  const fullReport = useCallback((): Promise<FullReport | null> => {
    const cached = full.current;
    if (cached && cached.url === fullUrl && cached.tick === tick) return cached.answer;
    const answer = getJson<FullReport>(fullUrl).catch((err: ConsoleApiError) => {
      setError(err);
      full.current = null;
      return null;
    });
    full.current = { url: fullUrl, tick, answer };
    return answer;
  }, [fullUrl, tick]);

  return { report, error, loading, refresh: () => setTick((t) => t + 1), fullReport };
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
