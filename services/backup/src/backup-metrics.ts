// The backup service's metrics. The stored-bytes gauge reads the tally, kept as backups
// change: a scrape reads nothing from the catalogue.
import { Counter, Gauge, Histogram, type Registry } from '@yixing/common';
import type { BackupTally } from './catalog/backup-tally.ts';
import { FAILURE_REASONS } from './failure-reasons.ts';

export function backupMetrics(registry: Registry, tally: BackupTally) {
  const registers = [registry];
  new Gauge({
    name: 'yx_backup_bytes_stored',
    help: 'Bytes held by verified backups',
    registers,
    collect() {
      this.set(tally.storedBytes);
    },
  });
  const failed = new Counter({
    name: 'yx_backup_failed_total',
    help: `Backups that failed verification or restore checks, by reason (${FAILURE_REASONS.join(', ')})`,
    labelNames: ['reason'],
    registers,
  });
  for (const reason of FAILURE_REASONS) failed.inc({ reason }, 0);
  return {
    failed,
    refused: new Counter({
      name: 'yx_backup_events_refused_total',
      help: 'Bus events dropped unapplied because their sender may not speak for the backups they name',
      labelNames: ['route', 'reason'],
      registers,
    }),
    verified: new Counter({ name: 'yx_backup_verified_total', help: 'Backups verified', registers }),
    uploadSeconds: new Histogram({
      name: 'yx_backup_upload_seconds',
      help: 'From slot to verified',
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
    restoreSeconds: new Histogram({
      name: 'yx_backup_restore_seconds',
      help: 'From the first piece of a restore read to its last, checked',
      buckets: [0.1, 0.5, 1, 5, 15, 60],
      registers,
    }),
  };
}
