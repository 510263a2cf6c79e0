// The bounded `reason` label of yx_backup_failed_total: what kind of failure a backup's
// free-text reason names (its text carries sizes, checksums and timeouts, which would make
// a new series each). Every reason is exported from the start at 0, so a rate over it has
// data before the first failure and an alert on it can tell "none" from "not scraped".

export const FAILURE_REASONS = ['unreadable', 'checksum', 'size', 'manifest', 'stored-copy', 'corrupt', 'timeout', 'other'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

const BY_PREFIX: [string, FailureReason][] = [
  ['upload unreadable', 'unreadable'],
  ['checksum', 'checksum'],
  ['size', 'size'],
  ['manifest', 'manifest'],
  ['stored copy', 'stored-copy'],
  ['corrupt', 'corrupt'],
  ['upload not committed within', 'timeout'],
];

/** The label for a failed backup's reason text (BackupService #fail's reasons). */
export function failureReason(reason: string): FailureReason {
  return BY_PREFIX.find(([prefix]) => reason.startsWith(prefix))?.[1] ?? 'other';
}
