// The pool report as CSV, one row per host, for a spreadsheet. csv-stringify quotes what
// needs quoting (commas, quotes, line breaks in agents' messages) and escapes cells a
// spreadsheet would run as formulas (a reason starting with '=' or '@').
import { stringify } from 'csv-stringify/sync';
import type { PoolReport } from './pool-report.ts';

export const POOL_CSV_COLUMNS = [
  'host',
  'status',
  'reason',
  'inhibitors',
  'warnings',
  'roles',
  'download_bytes',
  'install_bytes',
  'estimated_seconds',
  'assessed_at',
  'source',
  'source_plan',
  'report_truncated',
] as const;

/** Lists in a cell are separated by spaces (finding ids and roles have none). */
export function poolReportCsv(report: Pick<PoolReport, 'hosts'>): string {
  return stringify(
    report.hosts.map((h) => [
      h.hostId,
      h.status,
      h.notAssessed ? `${h.notAssessed}: ${h.reason}` : h.reason,
      h.inhibitors.join(' '),
      h.warnings.join(' '),
      h.roles.join(' '),
      h.downloadBytes ?? '',
      h.installBytes ?? '',
      h.estimatedSeconds ?? '',
      h.assessedAt ?? '',
      h.source ?? '',
      h.planId,
      h.reportTruncated ? 'yes' : '',
    ]),
    { header: true, columns: [...POOL_CSV_COLUMNS], escape_formulas: true, record_delimiter: 'windows' },
  );
}
