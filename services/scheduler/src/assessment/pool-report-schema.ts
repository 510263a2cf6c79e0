// The pool report's JSON Schema, for the API's description (GET /v1/plans/:id/assessment
// and GET /v1/assessment); pool-report.ts is its one source.

import { SEVERITIES } from './assessment-report.ts';
import { NOT_ASSESSED_REASONS } from './pool-report.ts';

const count = { type: 'integer', minimum: 0 } as const;
const ids = { type: 'array', items: { type: 'string' } } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

const findingKind = {
  type: 'object',
  required: ['kind', 'severity', 'title', 'remediation', 'hostCount', 'hosts'],
  properties: {
    kind: { type: 'string', description: "The finding id before ':' (disk-space:/var is of kind disk-space)." },
    severity: { type: 'string', enum: SEVERITIES, description: 'The highest severity any host reported.' },
    title: { type: 'string', description: "The first affected host's title (titles carry host details)." },
    remediation: { type: 'string' },
    hostCount: count,
    hosts: { ...ids, description: 'Every affected host, by id (an overview names the first 20).' },
  },
} as const;

export const POOL_REPORT_SCHEMA_ID = 'PoolReport';

export const poolReportSchema = {
  $id: POOL_REPORT_SCHEMA_ID,
  description:
    "How ready hosts are to migrate, from each host's latest assessment (its precheck): counts, findings by kind, totals, an estimate, and one line per host.",
  type: 'object',
  // `hosts` is left out of an overview (view=overview).
  required: ['scope', 'generatedAt', 'counts', 'notAssessed', 'inhibitors', 'warnings', 'roles', 'totals', 'estimate'],
  properties: {
    scope: {
      type: 'object',
      required: ['kind'],
      properties: { kind: { type: 'string', enum: ['plan', 'fleet'] }, planId: { type: 'string' } },
    },
    generatedAt: { type: 'string', format: 'date-time' },
    counts: {
      type: 'object',
      required: ['hosts', 'ready', 'warnings', 'inhibited', 'notAssessed', 'reused', 'truncated'],
      properties: {
        hosts: count,
        ready: count,
        warnings: { ...count, description: 'Ready, with findings that do not inhibit.' },
        inhibited: count,
        notAssessed: count,
        reused: { ...count, description: "Hosts whose assessment is an earlier plan's, kept because their facts did not change." },
        truncated: { ...count, description: 'Hosts whose stored report was cut short: read up to the cut, their roles may be missing.' },
      },
    },
    notAssessed: {
      type: 'array',
      items: {
        type: 'object',
        required: ['reason', 'hostCount', 'hosts'],
        properties: { reason: { type: 'string', enum: NOT_ASSESSED_REASONS }, hostCount: count, hosts: ids },
      },
    },
    inhibitors: { type: 'array', items: findingKind, description: 'By affected hosts, most first.' },
    warnings: { type: 'array', items: findingKind },
    roles: {
      type: 'array',
      items: { type: 'object', required: ['role', 'hostCount'], properties: { role: { type: 'string' }, hostCount: count } },
    },
    totals: {
      type: 'object',
      description: 'Over the hosts that could migrate now (ready, with or without warnings) whose upgrade was computed.',
      required: ['hosts', 'downloadBytes', 'installBytes', 'upgrades', 'installs'],
      properties: {
        hosts: count,
        downloadBytes: count,
        installBytes: { type: 'number', description: 'Net growth of installed files.' },
        upgrades: count,
        installs: count,
      },
    },
    estimate: {
      type: 'object',
      description:
        'Per host: fixedSeconds + downloadBytes / bytesPerSecond + (upgrades + installs) × secondsPerPackage; the whole: max(Σ / slots, longest). Leaves out gates, soaks, domain limits and retries.',
      required: ['model', 'hosts', 'totalHostSeconds', 'longestHostSeconds', 'makespanSeconds'],
      properties: {
        model: {
          type: 'object',
          required: ['bytesPerSecond', 'secondsPerPackage', 'fixedSeconds', 'slots'],
          properties: {
            bytesPerSecond: { type: 'number' },
            secondsPerPackage: { type: 'number' },
            fixedSeconds: { type: 'number' },
            slots: { type: 'integer' },
          },
        },
        hosts: count,
        totalHostSeconds: { type: 'number' },
        longestHostSeconds: { type: 'number' },
        makespanSeconds: { type: 'number' },
      },
    },
    hosts: {
      type: 'array',
      description: 'One line per host, by host id (not in an overview).',
      items: {
        type: 'object',
        required: ['hostId', 'status', 'notAssessed', 'reason', 'inhibitors', 'warnings', 'roles', 'planId', 'source', 'reportTruncated'],
        properties: {
          hostId: { type: 'string' },
          status: { type: 'string', enum: ['ready', 'warnings', 'inhibited', 'not-assessed'] },
          notAssessed: { type: ['string', 'null'], enum: [...NOT_ASSESSED_REASONS, null] },
          reason: { type: 'string' },
          inhibitors: { ...ids, description: 'Finding ids, as the agent wrote them.' },
          warnings: ids,
          roles: ids,
          downloadBytes: nullableNumber,
          installBytes: nullableNumber,
          estimatedSeconds: nullableNumber,
          assessedAt: { type: ['string', 'null'], format: 'date-time' },
          planId: { type: 'string', description: 'The plan whose precheck this is.' },
          source: { type: ['string', 'null'], enum: ['plan', 'reused', null] },
          reportTruncated: { type: 'boolean' },
        },
      },
    },
  },
} as const;
