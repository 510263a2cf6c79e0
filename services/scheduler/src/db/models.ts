// The scheduler's collections. Every state change is conditional on a version, so a
// replayed or duplicated event never moves a host twice and no multi-document
// transaction is needed. Host-runs, the hot path, are stored insert-only (run-store.ts):
// on FerretDB v1 every update or delete scans its whole collection, an insert does not.

import type { StepName } from '@yixing/common';
import { type Connection, type Model, Schema } from 'mongoose';
import type { OperationRef } from '../operations/operation-ref.ts';
import type { PlanSpec } from '../plans/plan-spec.ts';
import type { RunPageDoc, RunPageIndexDoc } from './run-pages.ts';
import type { TicketDoc } from './run-versions.ts';

export interface HostDoc {
  _id: string;
  facts: {
    hostname: string;
    osId: string;
    osVersion: string;
    arch: string;
    kernel: string;
    bootId: string;
    /** What the agent detected running on the host (containers, libvirt, ...); absent on hosts stored before. */
    roles?: string[];
    /** A digest of what the assessment reads; equal to its last assessment's: nothing to assess again. */
    factsDigest?: string;
    /** The host's size, what its migration's duration is predicted from (0 or absent: not known). */
    packageCount?: number;
    installedBytes?: number;
    diskUsedBytes?: number;
  };
  labels: { pool: string; cluster: string; zone: string; rack: string; role: string; extra: Record<string, string> };
  driver: string;
  agentVersion: string;
  registeredAt: Date;
  lastSeenAt: Date | null;
  version: number;
}

export type PlanState = 'running' | 'paused' | 'waiting-approval' | 'budget-exhausted' | 'aborting' | 'completed' | 'aborted';
export const FINAL_PLAN_STATES: readonly PlanState[] = ['completed', 'aborted'];

export interface PhaseDoc {
  index: number;
  name: string;
  size: number;
  /** Failures at which this phase halts the plan. */
  budget: number;
}

export interface DomainLimitDoc {
  domain: 'cluster' | 'zone' | 'rack';
  name: string;
  /** Hosts of the domain in the inventory when the plan was created. */
  members: number;
  limit: number;
}

export interface GateDoc {
  /** The phase waiting to start. */
  phase: number;
  mode: 'manual' | 'auto';
  since: Date;
  /** For automatic promotion: when the soak ends. */
  soakUntil: Date | null;
  reason: string;
}

export interface PlanDoc {
  _id: string;
  name: string;
  spec: PlanSpec;
  state: PlanState;
  stateReason: string;
  abortMode: 'finish' | 'rollback' | null;
  phases: PhaseDoc[];
  /** The highest phase whose hosts may start. */
  openPhase: number;
  gate: GateDoc | null;
  budget: number;
  domainLimits: DomainLimitDoc[];
  hostCount: number;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  createdBy: string;
  /** The operation this plan carries (a plan of one host asked for through the operations API). */
  operation?: OperationRef;
  /** The epoch of the scheduler leader that last wrote it (a deposed one's later writes are refused). */
  leaderEpoch?: number;
  version: number;
}

export type RunState = 'pending' | 'active' | 'held' | 'succeeded' | 'failed' | 'excluded';
export const FINAL_RUN_STATES: readonly RunState[] = ['succeeded', 'failed', 'excluded'];
export type FailureKindName = 'execution' | 'timeout' | 'unreachable';

export interface StepRecord {
  step: StepName;
  attempt: number;
  commandId: string;
  dispatchedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  outcome: 'succeeded' | 'failed' | 'deferred';
  kind: FailureKindName | null;
  code: string;
  message: string;
  report: string;
  /** A precheck's: the host's facts digest it assessed (the run's), so an unchanged host need not be assessed again. */
  factsDigest?: string;
}

export interface SlotRecord {
  takenSeq: number;
  takenAt: Date;
  releasedSeq: number | null;
  releasedAt: Date | null;
}

/** A run as the engine and the API see it: its latest state and its step history. */
export interface HostRunDoc {
  /** The run key, `${planId}/${hostId}`. */
  _id: string;
  planId: string;
  hostId: string;
  /** Id of the current migration attempt on the bus; a new one on retry. */
  runId: string;
  previousRunIds: string[];
  order: number;
  phase: number;
  cluster: string;
  zone: string;
  rack: string;
  state: RunState;
  step: StepName | null;
  attempt: number;
  commandId: string;
  /** `awaiting-backup`: the upgrade waits for the backup service to verify the backup. */
  stepState: 'dispatching' | 'running' | 'awaiting-backup' | null;
  dispatchedAt: Date | null;
  stepStartedAt: Date | null;
  deadlineAt: Date | null;
  notBefore: Date | null;
  failure: { step: StepName; kind: FailureKindName; code: string; message: string; seq: number; at: Date } | null;
  rollback: 'none' | 'running' | 'succeeded' | 'failed';
  history: StepRecord[];
  slots: SlotRecord[];
  deferrals: number;
  /** The backup this run's upgrade and rollback rely on, and whether the service verified it. */
  backupId: string;
  backupVerified: boolean;
  /** Why an excluded run never started (an old agent, an operator); absent on runs stored before it existed. */
  exclusionReason?: string;
  /**
   * The run's forward steps: a migration (with drain and undrain when the host has roles),
   * an assessment, or one operation. Absent on runs stored before it existed: a migration.
   */
  path?: StepName[];
  /** The earlier run of the host this one starts from (an operation after another), sent to the agent. */
  continuesRunId?: string;
  /** The run's trace (W3C `traceparent` of its first span): every step dispatched continues it, across restarts. */
  traceparent?: string;
  /** The host's facts digest when the run was created: what its precheck assesses. */
  factsDigest?: string;
  /** An assessment's excluded run whose host's facts had not changed: the plan whose assessment it keeps. */
  reusesAssessmentOf?: string;
  version: number;
}

export interface AuditDoc {
  at: Date;
  actor: string;
  action: string;
  planId: string | null;
  hostId: string | null;
  details: Record<string, unknown>;
}

const hostSchema = new Schema<HostDoc>(
  {
    _id: String,
    facts: {
      hostname: String,
      osId: String,
      osVersion: String,
      arch: String,
      kernel: String,
      bootId: String,
      roles: { type: [String], default: [] },
      factsDigest: { type: String, default: '' },
      packageCount: { type: Number, default: 0 },
      installedBytes: { type: Number, default: 0 },
      diskUsedBytes: { type: Number, default: 0 },
    },
    labels: { pool: String, cluster: String, zone: String, rack: String, role: String, extra: { type: Object, default: {} } },
    driver: String,
    agentVersion: String,
    registeredAt: Date,
    lastSeenAt: { type: Date, default: null },
    version: { type: Number, default: 0 },
  },
  { collection: 'hosts', versionKey: false, minimize: false },
);
hostSchema.index({ 'labels.pool': 1 });
hostSchema.index({ 'labels.cluster': 1 });

const planSchema = new Schema<PlanDoc>(
  {
    _id: String,
    name: String,
    spec: { type: Object, required: true },
    state: { type: String, required: true },
    stateReason: { type: String, default: '' },
    abortMode: { type: String, default: null },
    phases: [{ _id: false, index: Number, name: String, size: Number, budget: Number }],
    openPhase: Number,
    gate: { type: Object, default: null },
    budget: Number,
    domainLimits: [{ _id: false, domain: String, name: String, members: Number, limit: Number }],
    hostCount: Number,
    createdAt: Date,
    updatedAt: Date,
    finishedAt: { type: Date, default: null },
    createdBy: String,
    operation: { type: Object, default: undefined },
    leaderEpoch: { type: Number, default: 0 },
    version: { type: Number, default: 0 },
  },
  { collection: 'plans', versionKey: false, minimize: false },
);
planSchema.index({ state: 1 });

/** One version of a run's state: `_id` is `${key}#${version}`; history lives in run_steps. */
export type RunStateDoc = Omit<HostRunDoc, '_id' | 'history'> & { _id: string; key: string; epoch?: number; ticket?: number };

/** A finished step of a run: `_id` is the command id, so a step is recorded once. */
export type RunStepDoc = StepRecord & { _id: string; key: string; planId: string; hostId: string; runId: string };

const runStateFields = {
  key: { type: String, required: true },
  planId: { type: String, required: true },
  hostId: { type: String, required: true },
  runId: { type: String, required: true },
  previousRunIds: { type: [String], default: [] },
  order: Number,
  phase: Number,
  cluster: String,
  zone: String,
  rack: String,
  state: { type: String, required: true },
  step: { type: String, default: null },
  attempt: { type: Number, default: 0 },
  commandId: { type: String, default: '' },
  stepState: { type: String, default: null },
  dispatchedAt: { type: Date, default: null },
  stepStartedAt: { type: Date, default: null },
  deadlineAt: { type: Date, default: null },
  notBefore: { type: Date, default: null },
  failure: { type: Object, default: null },
  rollback: { type: String, default: 'none' },
  slots: { type: [{ _id: false, takenSeq: Number, takenAt: Date, releasedSeq: Number, releasedAt: Date }], default: [] },
  deferrals: { type: Number, default: 0 },
  backupId: { type: String, default: '' },
  backupVerified: { type: Boolean, default: false },
  exclusionReason: { type: String, default: '' },
  path: { type: [String], default: undefined },
  continuesRunId: { type: String, default: '' },
  traceparent: { type: String, default: '' },
  factsDigest: { type: String, default: '' },
  reusesAssessmentOf: { type: String, default: '' },
  version: { type: Number, required: true },
  // run-versions.ts: the writer's lease epoch and its plan ticket (none: committed when written).
  epoch: { type: Number, default: undefined },
  ticket: { type: Number, default: undefined },
};

// The field map is shared by two schemas; mongoose's inference cannot follow the spread.
const runStateSchema = new Schema<RunStateDoc>({ _id: String, ...runStateFields } as never, {
  collection: 'run_states',
  versionKey: false,
  minimize: false,
});
runStateSchema.index({ planId: 1 });
runStateSchema.index({ hostId: 1 });

/** Final runs of finished plans, compacted out of run_states (`_id` is the run key). */
const runArchiveSchema = new Schema<RunStateDoc>({ _id: String, ...runStateFields } as never, {
  collection: 'host_runs',
  versionKey: false,
  minimize: false,
});
runArchiveSchema.index({ planId: 1 });
runArchiveSchema.index({ hostId: 1 });
// A finished plan's hosts a phase at a time, in take order (the console's drill-down at 100,000 runs).
runArchiveSchema.index({ planId: 1, phase: 1, order: 1, _id: 1 });

const runStepSchema = new Schema<RunStepDoc>(
  {
    _id: String,
    key: { type: String, required: true },
    planId: { type: String, required: true },
    hostId: { type: String, required: true },
    runId: String,
    step: String,
    attempt: Number,
    commandId: String,
    dispatchedAt: Date,
    startedAt: Date,
    finishedAt: Date,
    outcome: String,
    kind: { type: String, default: null },
    code: String,
    message: String,
    report: String,
    factsDigest: { type: String, default: undefined },
  },
  { collection: 'run_steps', versionKey: false, minimize: false },
);
runStepSchema.index({ planId: 1 });
runStepSchema.index({ hostId: 1 });
// A run's history (GET /v1/hosts/:id/runs/:key, the engine's reload) is read by key.
runStepSchema.index({ key: 1 });
// Assessments: a plan's prechecks (its pool report), a host's latest (reassessing what changed).
runStepSchema.index({ planId: 1, step: 1 });
runStepSchema.index({ hostId: 1, step: 1 });
runStepSchema.index({ step: 1, hostId: 1 });

/** A finished plan's runs a page at a time, in take order (run-pages.ts): `_id` is `${planId}#${gen}#${seq}`. */
const runPageSchema = new Schema<RunPageDoc>(
  {
    _id: String,
    planId: { type: String, required: true },
    gen: { type: String, required: true },
    seq: { type: Number, required: true },
    runs: { type: Schema.Types.Mixed, default: [] },
  },
  { collection: 'run_pages', versionKey: false, minimize: false },
);
// Read by `_id` only; deleting a plan removes its pages by plan.
runPageSchema.index({ planId: 1 });

/** The index of a finished plan's run pages (`_id` is `${planId}#pages`), inserted after them. */
const runPageIndexSchema = new Schema<RunPageIndexDoc>(
  {
    _id: String,
    planId: { type: String, required: true },
    gen: { type: String, required: true },
    runs: { type: Number, required: true },
    pages: { type: Schema.Types.Mixed, default: [] },
    at: Date,
  },
  { collection: 'run_page_indexes', versionKey: false, minimize: false },
);

/** A plan's commit tickets and fences (run-versions.ts): `_id` is `${planId}#${seq}`. */
const runTicketSchema = new Schema<TicketDoc>(
  {
    _id: String,
    planId: { type: String, required: true },
    seq: { type: Number, required: true },
    epoch: { type: Number, required: true },
    fence: { type: Boolean, default: false },
    at: Date,
  },
  { collection: 'run_tickets', versionKey: false },
);
runTicketSchema.index({ planId: 1, seq: -1 });
runTicketSchema.index({ planId: 1, fence: 1 });

/** Last heartbeat times, in a few chunk documents rewritten periodically (see Inventory). */
export interface LivenessDoc {
  _id: string;
  seen: Record<string, number>;
}

const livenessSchema = new Schema<LivenessDoc>(
  { _id: String, seen: { type: Object, default: {} } },
  { collection: 'host_liveness', versionKey: false, minimize: false },
);

const auditSchema = new Schema<AuditDoc>(
  {
    at: { type: Date, required: true },
    actor: String,
    action: { type: String, required: true },
    planId: { type: String, default: null },
    hostId: { type: String, default: null },
    details: { type: Object, default: {} },
  },
  { collection: 'audit', versionKey: false, minimize: false },
);
auditSchema.index({ planId: 1, at: 1 });

/**
 * A plan creation asked for with an Idempotency-Key (`_id`): the insert keyed by the key is
 * the compare-and-swap that gives one key one plan id; `bodySha256` tells a retry from a
 * different request reusing the key. Kept for a bounded time (the engine's housekeeping).
 */
export interface PlanRequestDoc {
  _id: string;
  planId: string;
  bodySha256: string;
  actor: string;
  createdAt: Date;
}

const planRequestSchema = new Schema<PlanRequestDoc>(
  { _id: String, planId: { type: String, required: true }, bodySha256: { type: String, required: true }, actor: String, createdAt: Date },
  { collection: 'plan_requests', versionKey: false },
);
planRequestSchema.index({ createdAt: 1 });

/**
 * A run attempt (`_id` = runId) whose RunFinished event the stream acknowledged. Read only
 * for live plans: a plan's records are deleted once it is compacted (by `planId`).
 */
export interface RunAnnouncedDoc {
  _id: string;
  key: string;
  planId: string;
  at: Date;
}

const runAnnouncedSchema = new Schema<RunAnnouncedDoc>(
  { _id: String, key: { type: String, required: true }, planId: { type: String, required: true }, at: Date },
  { collection: 'run_announcements', versionKey: false },
);
runAnnouncedSchema.index({ planId: 1 });

export interface Models {
  Host: Model<HostDoc>;
  Plan: Model<PlanDoc>;
  RunState: Model<RunStateDoc>;
  RunArchive: Model<RunStateDoc>;
  RunStep: Model<RunStepDoc>;
  RunTicket: Model<TicketDoc>;
  RunPage: Model<RunPageDoc>;
  RunPageIndex: Model<RunPageIndexDoc>;
  Liveness: Model<LivenessDoc>;
  Audit: Model<AuditDoc>;
  PlanRequest: Model<PlanRequestDoc>;
  RunAnnounced: Model<RunAnnouncedDoc>;
}

export function registerModels(conn: Connection): Models {
  return {
    Host: conn.model<HostDoc>('Host', hostSchema),
    Plan: conn.model<PlanDoc>('Plan', planSchema),
    RunState: conn.model<RunStateDoc>('RunState', runStateSchema),
    RunArchive: conn.model<RunStateDoc>('RunArchive', runArchiveSchema),
    RunStep: conn.model<RunStepDoc>('RunStep', runStepSchema),
    RunTicket: conn.model<TicketDoc>('RunTicket', runTicketSchema),
    RunPage: conn.model<RunPageDoc>('RunPage', runPageSchema),
    RunPageIndex: conn.model<RunPageIndexDoc>('RunPageIndex', runPageIndexSchema),
    Liveness: conn.model<LivenessDoc>('Liveness', livenessSchema),
    Audit: conn.model<AuditDoc>('Audit', auditSchema),
    PlanRequest: conn.model<PlanRequestDoc>('PlanRequest', planRequestSchema),
    RunAnnounced: conn.model<RunAnnouncedDoc>('RunAnnounced', runAnnouncedSchema),
  };
}
