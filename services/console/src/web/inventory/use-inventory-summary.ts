// The inventory counted by the scheduler (GET /v1/inventory/summary), asked for again every
// REFRESH_MS: hosts register, upgrade their agent and go offline without an event here.
import { useEffect, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, getJson } from '../api/client.ts';
import { startPolling } from '../hosts/polling.ts';
import type { InventorySummary } from './inventory-rows.ts';

const REFRESH_MS = 15_000;

export function useInventorySummary(): { summary: InventorySummary | null; error: ConsoleApiError | null } {
  const [summary, setSummary] = useState<InventorySummary | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  useEffect(
    () =>
      startPolling(
        (signal) => getJson<InventorySummary>(`${API.scheduler}/v1/inventory/summary`, signal),
        (s) => {
          setSummary(s);
          setError(null);
          return REFRESH_MS;
        },
        setError,
      ),
    [],
  );
  return { summary, error };
}
