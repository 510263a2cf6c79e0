// The agent's assessment (a precheck's JSON report, host-agent's AssessmentReport) as the
// scheduler reads it: only what a pool report needs, checked field by field. A record
// written by an older or broken agent is answered with the reason, never thrown: one bad
// host must not hide the pool's report.
//
// A stored report may be cut short (the scheduler keeps a step's report to 64,000
// characters; an assessment's package preview lists every package). Such a report is read
// with a streaming parser for the members it completed before the cut: the findings and
// the preview's totals come first in the agent's report, so it still counts; what came
// later (roles) is missing and the report is marked truncated.

import { JSONParser } from '@streamparser/json';
// From the errors module alone: the console's bundle reads reports with this parser too.
import { YxError } from '@yixing/common/errors';

export const SEVERITIES = ['info', 'low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AssessedFinding {
  /** The finding's id as the agent wrote it (`disk-space:/,/var/cache/apt/archives`). */
  id: string;
  /** The id before ':', what findings of every host are grouped by (`disk-space`). */
  kind: string;
  severity: Severity;
  inhibitor: boolean;
  title: string;
  remediation: string;
}

export interface AssessedPreview {
  downloadBytes: number;
  /** Net growth of installed files. */
  installBytes: number;
  upgrades: number;
  installs: number;
}

export interface AssessedReport {
  /** When the agent assessed ('' when the report does not say). */
  at: string;
  findings: AssessedFinding[];
  /** Runtimes and services detected on the host (absent from older agents' reports: none). */
  roles: string[];
  /** What the assessment read, digested; equal digests mean an unchanged host ('' when absent). */
  factsDigest: string;
  /** What the upgrade would do; null when it could not be computed. */
  preview: AssessedPreview | null;
  /** The stored report was cut short: members after the cut (roles, the digest) are missing. */
  truncated: boolean;
}

export type ReadReport = { ok: true; report: AssessedReport } | { ok: false; reason: string };

/** The kind of a finding id: the part before ':'. */
export const findingKind = (id: string): string => {
  const colon = id.indexOf(':');
  return colon < 0 ? id : id.slice(0, colon);
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A stored report that is not an assessment; the host is then "not assessed", with the reason. */
class Unreadable extends YxError {
  readonly code = 'ASSESSMENT_REPORT_UNREADABLE';
  readonly retryable = false;
}

function count(o: Obj, field: string, where: string, required: boolean): number {
  const v = o[field];
  if (v === undefined && !required) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Unreadable(`${where}.${field} is not a non-negative number`);
  return v;
}

function finding(f: unknown, i: number): AssessedFinding {
  const where = `findings[${i}]`;
  if (!isObj(f)) throw new Unreadable(`${where} is not an object`);
  if (typeof f.id !== 'string' || f.id === '') throw new Unreadable(`${where}.id is not a non-empty string`);
  if (typeof f.inhibitor !== 'boolean') throw new Unreadable(`${where}.inhibitor is not a boolean`);
  const severity = SEVERITIES.find((s) => s === f.severity);
  if (!severity) throw new Unreadable(`${where}.severity is not one of ${SEVERITIES.join(', ')}`);
  return { id: f.id, kind: findingKind(f.id), severity, inhibitor: f.inhibitor, title: str(f.title), remediation: str(f.remediation) };
}

function preview(p: unknown): AssessedPreview | null {
  if (p === null || p === undefined) return null;
  if (!isObj(p)) throw new Unreadable('preview is neither an object nor null');
  return {
    downloadBytes: count(p, 'downloadBytes', 'preview', true),
    // Net growth: negative when the upgrade frees more than it adds.
    installBytes: typeof p.installBytes === 'number' && Number.isFinite(p.installBytes) ? p.installBytes : 0,
    upgrades: count(p, 'upgrades', 'preview', false),
    installs: count(p, 'installs', 'preview', false),
  };
}

/**
 * The members a cut report completed before the cut (top-level ones, and the preview's
 * when the preview itself was cut); null when the text is not the start of a JSON document.
 */
function completedMembers(raw: string): Obj | null {
  const parser = new JSONParser({ paths: ['$.*', '$.preview.*'], keepStack: false });
  const doc: Obj = {};
  const preview: Obj = {};
  parser.onValue = ({ value, key, stack }) => {
    if (typeof key !== 'string') return;
    if (stack.length === 1) doc[key] = value;
    else preview[key] = value;
  };
  try {
    parser.write(raw);
  } catch {
    return null;
  }
  if (!('preview' in doc) && Object.keys(preview).length > 0) doc.preview = preview;
  return doc;
}

function assessment(doc: unknown, truncated: boolean): AssessedReport {
  if (!isObj(doc)) throw new Unreadable('the report is not a JSON object');
  if (!Array.isArray(doc.findings)) throw new Unreadable(truncated ? 'it was cut before its findings ended' : 'findings is not an array');
  const roles = doc.roles ?? [];
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) throw new Unreadable('roles is not a list of strings');
  return {
    at: str(doc.at),
    findings: doc.findings.map(finding),
    roles: [...new Set(roles as string[])].sort(),
    factsDigest: str(doc.factsDigest),
    preview: preview(doc.preview),
    truncated,
  };
}

/** Reads a precheck's report: the assessment, or why it cannot be read. */
export function readAssessmentReport(raw: string): ReadReport {
  if (raw.trim() === '') return { ok: false, reason: 'the precheck stored no report' };
  let doc: unknown;
  let truncated = false;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    const members = completedMembers(raw);
    if (!members) return { ok: false, reason: `the report is not JSON: ${(err as Error).message}` };
    doc = members;
    truncated = true;
  }
  try {
    return { ok: true, report: assessment(doc, truncated) };
  } catch (err) {
    if (!(err instanceof Unreadable)) throw err;
    const what = truncated ? `the stored report was cut at ${raw.length} characters` : 'the report is not an assessment';
    return { ok: false, reason: `${what}: ${err.message}` };
  }
}
