// The pool report: GET /v1/plans/:planId/assessment (a plan's hosts, from its prechecks
// or the earlier assessments it reused) and GET /v1/assessment (each host's latest
// assessment, for the console), as JSON or, with ?format=csv, one CSV row per host; and
// …/assessment/hosts, one group's hosts (a finding kind, a reason) a page at a time.
import { idPatterns } from '@yixing/common';
import { errorResponses } from '@yixing/common/http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AssessmentStore, type RunLight } from '../assessment/assessment.store.ts';
import { DEFAULT_ESTIMATE_MODEL, type EstimateModel } from '../assessment/duration-estimate.ts';
import { OVERVIEW_HOSTS_PER_KIND, overviewOf, type PoolReport, PoolReportBuilder } from '../assessment/pool-report.ts';
import { poolReportCsv } from '../assessment/pool-report-csv.ts';
import { GROUP_PATTERN, groupHostsPage } from '../assessment/pool-report-hosts.ts';
import { POOL_REPORT_SCHEMA_ID, poolReportSchema } from '../assessment/pool-report-schema.ts';
import { RecentReports } from '../assessment/recent-reports.ts';
import type { PlanDoc } from '../db/models.ts';
import { NotFoundError, QueryInvalidError } from './errors.ts';
import { ascendingCursor, limitOf, PAGE_SIZES, pageParams, readAscendingCursor } from './paging.ts';
import type { ApiDeps } from './server.ts';

interface ReportQuery {
  format?: 'json' | 'csv';
  view?: 'full' | 'overview';
  slots?: string;
  throughputMiBps?: string;
  secondsPerPackage?: string;
  fixedSeconds?: string;
}

// Query values are strings (the API does not coerce types): whole or decimal numbers.
const whole = '^[1-9][0-9]{0,5}$';
const decimal = '^[0-9]{1,6}(\\.[0-9]{1,3})?$';

const reportQuery = {
  format: { type: 'string', enum: ['json', 'csv'], description: 'csv: one row per host (text/csv, an attachment).' },
  view: {
    type: 'string',
    enum: ['full', 'overview'],
    description: `overview (JSON): no per-host lines, at most ${OVERVIEW_HOSTS_PER_KIND} hosts named per kind; full (the default): everything.`,
  },
  slots: {
    type: 'string',
    pattern: whole,
    description: "Hosts migrating at once, for the estimate, up to 100000 (default: the plan's maxInFlight; the fleet: 10).",
  },
  throughputMiBps: { type: 'string', pattern: decimal, description: 'Download throughput of one host, MiB/s, above 0 (default 20).' },
  secondsPerPackage: { type: 'string', pattern: decimal, description: 'Install time per package changed, seconds (default 0.4).' },
  fixedSeconds: { type: 'string', pattern: decimal, description: 'Backup, reboot and checks per host, seconds (default 180).' },
} as const;

/** A query number within bounds, or the default; out of bounds is a 400 naming the field. */
function numberOf(q: ReportQuery, field: keyof Omit<ReportQuery, 'format'>, fallback: number, min: number, max: number): number {
  const raw = q[field];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!(n >= min && n <= max)) throw new QueryInvalidError(`querystring.${field}`, `must be from ${min} to ${max}, not ${raw}`);
  return n;
}

const MiB = 1024 * 1024;

const label = { type: 'string', minLength: 1, maxLength: 128 } as const;
const labelQuery = { pool: label, cluster: label, zone: label, rack: label, role: label } as const;
type Labels = { pool?: string; cluster?: string; zone?: string; rack?: string; role?: string };
const LABEL_NAMES = ['pool', 'cluster', 'zone', 'rack', 'role'] as const;

interface GroupQuery {
  group: string;
  limit?: string;
  cursor?: string;
}

const groupQuery = {
  group: {
    type: 'string',
    pattern: GROUP_PATTERN,
    description: 'inhibitor:<kind>, warning:<kind> or notAssessed:<reason> (pending, excluded, failed, unreadable, never).',
  },
  ...pageParams(PAGE_SIZES.assessmentHosts),
} as const;

const groupPageResponse = {
  200: {
    description: "One page of the group's hosts, by host id; hostCount counts them all (0: no such group now)",
    type: 'object',
    required: ['group', 'hostCount', 'hosts', 'nextCursor'],
    properties: {
      group: { type: 'string' },
      hostCount: { type: 'integer', minimum: 0 },
      hosts: { type: 'array', items: { type: 'string' } },
      nextCursor: { type: ['string', 'null'] },
    },
  },
} as const;

/** One page of a group's hosts from a report. */
function groupPage(report: PoolReport, q: GroupQuery) {
  const after = q.cursor ? readAscendingCursor(q.cursor).id : null;
  const page = groupHostsPage(report, q.group, after, limitOf(q.limit, PAGE_SIZES.assessmentHosts));
  return {
    group: page.group,
    hostCount: page.hostCount,
    hosts: page.hosts,
    nextCursor: page.lastHostId ? ascendingCursor(0, page.lastHostId) : null,
  };
}

const reportResponses = {
  200: {
    description: 'The pool report (JSON), or with format=csv one row per host',
    content: {
      'application/json': { schema: { $ref: `${POOL_REPORT_SCHEMA_ID}#` } },
      'text/csv': { schema: { type: 'string' } },
    },
  },
};

function modelOf(q: ReportQuery, slots: number): EstimateModel {
  const d = DEFAULT_ESTIMATE_MODEL;
  return {
    bytesPerSecond: numberOf(q, 'throughputMiBps', d.bytesPerSecond / MiB, 0.001, 100_000) * MiB,
    secondsPerPackage: numberOf(q, 'secondsPerPackage', d.secondsPerPackage, 0, 3600),
    fixedSeconds: numberOf(q, 'fixedSeconds', d.fixedSeconds, 0, 86_400),
    slots: numberOf(q, 'slots', slots, 1, 100_000),
  };
}

const pick = (reuses: string | undefined): { reusesAssessmentOf?: string } => (reuses ? { reusesAssessmentOf: reuses } : {});

/** The report of what `read` hands to the builder. */
async function build(model: EstimateModel, read: (builder: PoolReportBuilder) => Promise<void>): Promise<PoolReport> {
  const builder = new PoolReportBuilder(model);
  await read(builder);
  return builder.build();
}

/** The fleet's pool report: each selected host's latest assessment. */
async function fleetReport(deps: ApiDeps, labels: Labels, q: ReportQuery): Promise<PoolReport> {
  const model = modelOf(q, DEFAULT_ESTIMATE_MODEL.slots);
  const hostIds = deps.inventory.select(labels).map((h) => h._id);
  return build(model, (b) => new AssessmentStore(deps.models).fleetAssessments(hostIds, (a) => b.add(a)));
}

function answer(reply: FastifyReply, report: PoolReport & { scope: object }, q: ReportQuery, file: string) {
  if (q.format !== 'csv') return q.view === 'overview' ? overviewOf(report) : report;
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${file}.csv"`)
    .send(poolReportCsv(report));
}

/** A plan's pool report (404 when there is no such plan). */
async function planReport(deps: ApiDeps, planId: string, q: ReportQuery): Promise<PoolReport> {
  const store = new AssessmentStore(deps.models);
  const rt = deps.engine.runtime(planId);
  const plan = rt?.plan ?? (await deps.models.Plan.findById(planId, { spec: 1 }).lean<Pick<PlanDoc, 'spec'>>());
  if (!plan) throw new NotFoundError(`no plan ${planId}`);
  const runs: RunLight[] = rt
    ? [...rt.runs.values()].map((r) => ({
        hostId: r.hostId,
        state: r.state,
        exclusionReason: r.exclusionReason ?? '',
        failure: r.failure,
        // Set on assess-mode runs of unchanged hosts (absent on other runs).
        ...pick((r as { reusesAssessmentOf?: string }).reusesAssessmentOf),
      }))
    : await store.planRuns(planId);
  const model = modelOf(q, plan.spec.limits?.maxInFlight ?? DEFAULT_ESTIMATE_MODEL.slots);
  return build(model, (b) =>
    store.planAssessments(
      planId,
      runs,
      (a) => b.add(a),
      (hostId) => b.hasPrecheck(hostId),
    ),
  );
}

/** A report a group's pages read after their first is kept this long unread. */
const PAGED_REPORT_IDLE_MS = 60_000;

export function assessmentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.addSchema(poolReportSchema);
  const paged = new RecentReports<PoolReport>(PAGED_REPORT_IDLE_MS, 2);
  /** A group's first page builds the report afresh; the pages after it read the same one while it is kept. */
  const pagedReport = async (key: string, q: GroupQuery, buildReport: () => Promise<PoolReport>): Promise<PoolReport> => {
    const kept = q.cursor ? paged.get(key, Date.now()) : undefined;
    if (kept) return kept;
    const report = await buildReport();
    paged.put(key, report, Date.now());
    return report;
  };

  app.get<{ Params: { planId: string }; Querystring: ReportQuery }>(
    '/v1/plans/:planId/assessment',
    {
      schema: {
        tags: ['assessment'],
        summary: "The pool report of a plan's hosts: ready, with warnings, inhibited, not assessed; inhibitors by kind; estimates",
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['planId'],
          properties: { planId: { type: 'string', pattern: idPatterns.planId } },
        },
        querystring: { type: 'object', additionalProperties: false, properties: reportQuery },
        response: { ...reportResponses, ...errorResponses(404) },
      },
    },
    async (req, reply) => {
      const { planId } = req.params;
      const report = await planReport(deps, planId, req.query);
      return answer(reply, { scope: { kind: 'plan', planId }, ...report }, req.query, `assessment-${planId}`);
    },
  );

  app.get<{ Querystring: ReportQuery & Labels }>(
    '/v1/assessment',
    {
      schema: {
        tags: ['assessment'],
        summary: "The fleet's pool report: each registered host's latest assessment in any plan (filtered by labels)",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...labelQuery, ...reportQuery },
        },
        response: reportResponses,
      },
    },
    async (req, reply) => {
      const { format, view, slots, throughputMiBps, secondsPerPackage, fixedSeconds, ...labels } = req.query;
      const report = await fleetReport(deps, labels, req.query);
      const day = report.generatedAt.slice(0, 10);
      return answer(reply, { scope: { kind: 'fleet' }, ...report }, req.query, `assessment-fleet-${day}`);
    },
  );

  app.get<{ Params: { planId: string }; Querystring: GroupQuery }>(
    '/v1/plans/:planId/assessment/hosts',
    {
      schema: {
        tags: ['assessment'],
        summary: "The hosts of one finding kind or reason in a plan's pool report, a page at a time",
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['planId'],
          properties: { planId: { type: 'string', pattern: idPatterns.planId } },
        },
        querystring: { type: 'object', additionalProperties: false, required: ['group'], properties: groupQuery },
        response: { ...groupPageResponse, ...errorResponses(404) },
      },
    },
    async (req) => {
      const { planId } = req.params;
      return groupPage(await pagedReport(`plan ${planId}`, req.query, () => planReport(deps, planId, {})), req.query);
    },
  );

  app.get<{ Querystring: GroupQuery & Labels }>(
    '/v1/assessment/hosts',
    {
      schema: {
        tags: ['assessment'],
        summary: "The hosts of one finding kind or reason in the fleet's pool report (filtered by labels), a page at a time",
        querystring: { type: 'object', additionalProperties: false, required: ['group'], properties: { ...labelQuery, ...groupQuery } },
        response: groupPageResponse,
      },
    },
    async (req) => {
      const { group, limit, cursor, ...labels } = req.query;
      const key = `fleet ${JSON.stringify(LABEL_NAMES.map((k) => labels[k] ?? ''))}`;
      return groupPage(await pagedReport(key, req.query, () => fleetReport(deps, labels, {})), req.query);
    },
  );
}
