// The backup a run relies on, from the backup service (GET /v1/backups/:id through the
// console's /api/backup proxy): size, sealed or not, verified when. Asked again when the
// run's view says its verification changed, and every IDLE_MS while it is not verified.
import { useEffect, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, getJson } from '../api/client.ts';
import { startPolling } from './polling.ts';

const IDLE_MS = 5000;

/** The backup service's view of a backup (its JSON: dates as ISO strings). */
export interface BackupInfo {
  id: string;
  state: 'uploading' | 'verified' | 'failed' | 'deleted' | 'expired';
  reason: string;
  sizeBytes: number;
  storedBytes: number;
  sha256: string;
  encrypted: boolean;
  keyId: string | null;
  osRelease: string;
  packageCount: number;
  createdAt: string;
  verifiedAt: string | null;
  expiresAt: string | null;
}

export function useBackup(id: string, verified: boolean): { backup: BackupInfo | null; error: ConsoleApiError | null } {
  const [backup, setBackup] = useState<BackupInfo | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the run's verification changing is a reason to ask again
  useEffect(() => {
    setBackup(null);
    setError(null);
    if (id === '') return;
    return startPolling(
      (signal) => getJson<BackupInfo>(`${API.backup}/v1/backups/${encodeURIComponent(id)}`, signal),
      (b) => {
        setBackup(b);
        setError(null);
        return b.state === 'uploading' ? IDLE_MS : null;
      },
      setError,
    );
  }, [id, verified]);
  return { backup, error };
}
