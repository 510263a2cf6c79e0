// One thing the assessment found: a stable id, a severity, whether it inhibits the
// migration, and how to fix it.
export type Severity = 'info' | 'low' | 'medium' | 'high';

export interface Finding {
  id: string;
  severity: Severity;
  inhibitor: boolean;
  title: string;
  detail: string;
  remediation: string;
}
