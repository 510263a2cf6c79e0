// A host's assessment as its run shows it: the run's latest precheck report, read by the
// scheduler's own parser (the pool report reads it the same way), its findings ordered
// for someone deciding what to fix first: inhibitors, then by severity.
import { type AssessedFinding, type AssessedReport, readAssessmentReport, SEVERITIES } from '@yixing/scheduler/assessment-report';
import type { StepRecordView } from './step-graph.ts';

export type HostAssessment =
  | { state: 'none' }
  | { state: 'unreadable'; reason: string; finishedAt: string | null }
  | { state: 'read'; report: AssessedReport; findings: AssessedFinding[]; inhibitors: number; finishedAt: string | null };

const rank = (f: AssessedFinding): number => (f.inhibitor ? 0 : 1) * 10 + (SEVERITIES.length - SEVERITIES.indexOf(f.severity));

/** Inhibitors first, then the most severe, then by id (a stable order across polls). */
export const orderFindings = (findings: readonly AssessedFinding[]): AssessedFinding[] =>
  [...findings].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));

/** The assessment of the run's latest precheck that stored a report; `none` before any did. */
export function hostAssessment(history: readonly StepRecordView[]): HostAssessment {
  const record = history.findLast((h) => h.step === 'precheck' && h.outcome !== 'deferred' && h.report !== '');
  if (!record) return { state: 'none' };
  const finishedAt = record.finishedAt ? new Date(record.finishedAt).toISOString() : null;
  const read = readAssessmentReport(record.report);
  if (!read.ok) return { state: 'unreadable', reason: read.reason, finishedAt };
  const findings = orderFindings(read.report.findings);
  return { state: 'read', report: read.report, findings, inhibitors: findings.filter((f) => f.inhibitor).length, finishedAt };
}
