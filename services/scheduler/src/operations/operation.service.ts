// Operations: one capability (assess, backup, upgrade, rollback, migrate) on one host, asked
// for by an operations platform. Each is a plan of one host (its id the operation's), so it
// keeps every rule of plans — a host in one plan or operation at a time, the backup gate,
// step deadlines, logs, events — and adds its own: an upgrade needs a verified backup of
// the host, a rollback needs one too (and continues the run that upgraded).
import { BackupState, type Bus, UnavailableError, YxError } from '@yixing/common';
import { FINAL_PLAN_STATES, type HostRunDoc, type Models, type PlanDoc } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { backupIdOf } from '../host-runs/outcomes.ts';
import type { Capability } from '../host-runs/run-paths.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { PlanService } from '../plans/plan.service.ts';
import type { PlanInput, RollbackRequirement } from '../plans/plan-spec.ts';
import type { Engine } from '../reconcile/engine.ts';
import { type OperationState, operationStateOf } from './operation-events.ts';
import type { OperationRef } from './operation-ref.ts';

/** An operation that needs a verified backup of its host and has none (or one not verified). */
export class OperationNeedsBackupError extends YxError {
  readonly code = 'OPERATION_NEEDS_BACKUP';
  readonly retryable = false;
  override readonly httpStatus = 409;
}

export class HostUnknownError extends YxError {
  readonly code = 'HOST_UNKNOWN';
  readonly retryable = false;
  override readonly httpStatus = 404;
}

export class OperationNotFoundError extends YxError {
  readonly code = 'OPERATION_NOT_FOUND';
  readonly retryable = false;
  override readonly httpStatus = 404;
}

export interface OperationInput {
  capability: Capability;
  profile: string;
  /** The backup an upgrade or a rollback relies on; absent: the host's latest. */
  backupId?: string;
  /** Where each state change is posted (signed with the scheduler's callback secret). */
  callbackUrl?: string;
  dryRun?: boolean;
  rollback?: RollbackRequirement;
}

export interface OperationView {
  operationId: string;
  hostId: string;
  capability: Capability;
  profile: string;
  state: OperationState;
  /** The step in flight, or the last one. */
  step: string | null;
  runId: string;
  planId: string;
  backupId: string;
  continuesRunId: string;
  callbackUrl: string;
  error: { step: string; code: string; message: string; kind: string } | null;
  rollback: HostRunDoc['rollback'];
  /** Each finished step, with its report (the assessment, the backup, ...). */
  steps: { step: string; attempt: number; outcome: string; code: string; message: string; finishedAt: string | null; report: unknown }[];
  /** The operation's log: GET this path. */
  logs: string;
  createdAt: string;
  createdBy: string;
}

export interface OperationServiceDeps {
  models: Models;
  runs: RunStore;
  plans: PlanService;
  engine: Engine;
  inventory: Inventory;
  bus: Bus;
  requestTimeoutMs: number;
}

const parse = (report: string): unknown => {
  if (report === '') return null;
  try {
    return JSON.parse(report) as unknown;
  } catch {
    return report;
  }
};

/** The view of an operation's plan and its one run. Pure. */
export function operationView(plan: PlanDoc & { operation: OperationRef }, run: HostRunDoc): OperationView {
  const op = plan.operation;
  const last = run.history.at(-1);
  return {
    operationId: plan._id,
    hostId: op.hostId,
    capability: op.capability,
    profile: plan.spec.profile,
    state: operationStateOf(run, FINAL_PLAN_STATES.includes(plan.state)),
    step: run.step ?? last?.step ?? null,
    runId: run.runId,
    planId: plan._id,
    backupId: run.backupId,
    continuesRunId: op.continuesRunId,
    callbackUrl: op.callbackUrl,
    error: run.failure
      ? { step: run.failure.step, code: run.failure.code, message: run.failure.message, kind: run.failure.kind }
      : run.state === 'excluded'
        ? { step: '', code: 'OPERATION_EXCLUDED', message: run.exclusionReason || 'excluded by an operator', kind: 'execution' }
        : null,
    rollback: run.rollback,
    steps: run.history.map((h) => ({
      step: h.step,
      attempt: h.attempt,
      outcome: h.outcome,
      code: h.code,
      message: h.message,
      finishedAt: h.finishedAt ? new Date(h.finishedAt).toISOString() : null,
      report: parse(h.report),
    })),
    logs: `/v1/hosts/${op.hostId}/logs?runId=${run.runId}`,
    createdAt: new Date(plan.createdAt).toISOString(),
    createdBy: plan.createdBy,
  };
}

export class OperationService {
  readonly #d: OperationServiceDeps;

  constructor(deps: OperationServiceDeps) {
    this.#d = deps;
  }

  /** Starts an operation; with an Idempotency-Key a retry gets the same one. */
  async create(hostId: string, input: OperationInput, actor: string, idempotencyKey?: string): Promise<OperationView> {
    const host = this.#d.inventory.get(hostId);
    if (!host) throw new HostUnknownError(`host ${hostId} is not registered`, { details: { field: 'params.hostId' } });
    const needs = await this.#preconditions(hostId, input);
    const operation: OperationRef = {
      capability: input.capability,
      hostId,
      callbackUrl: input.callbackUrl ?? '',
      backupId: needs.backupId,
      continuesRunId: needs.continuesRunId,
    };
    const assess = input.capability === 'assess';
    const planInput: PlanInput = {
      name: `${input.capability} ${hostId}`,
      mode: assess ? 'assess' : 'migrate',
      selector: { hosts: [hostId] },
      profile: input.profile,
      ...(assess ? {} : { canary: { count: 1 } }),
      limits: { maxInFlight: 1 },
      errorBudget: { plan: { count: 1 } },
      ...(input.dryRun !== undefined ? { dryRun: input.dryRun } : {}),
      ...(input.rollback !== undefined ? { rollback: input.rollback } : {}),
    };
    const plan = await this.#d.plans.create(planInput, actor, { idempotencyKey, operation });
    return this.get(plan._id);
  }

  async get(operationId: string): Promise<OperationView> {
    const live = this.#d.engine.runtime(operationId);
    const plan = live?.plan ?? (await this.#d.models.Plan.findById(operationId).lean<PlanDoc>());
    if (!plan?.operation) throw new OperationNotFoundError(`no operation ${operationId}`);
    const run = live ? [...live.runs.values()][0] : (await this.#d.runs.loadPlan(operationId))[0];
    if (!run) throw new OperationNotFoundError(`operation ${operationId} has no run`);
    return operationView(plan as PlanDoc & { operation: OperationRef }, run);
  }

  /** Operations newest first, optionally of one host; `before` is the last id of the previous page. */
  async list(q: { hostId?: string; limit: number; before?: string }): Promise<{ items: OperationView[]; more: boolean }> {
    const filter: Record<string, unknown> = { operation: { $exists: true } };
    if (q.hostId) filter['operation.hostId'] = q.hostId;
    if (q.before) filter._id = { $lt: q.before };
    const plans = await this.#d.models.Plan.find(filter, { _id: 1 })
      .sort({ _id: -1 })
      .limit(q.limit + 1)
      .lean();
    const items = await Promise.all(plans.slice(0, q.limit).map((p) => this.get(p._id)));
    return { items, more: plans.length > q.limit };
  }

  /** The backup an upgrade or a rollback relies on, verified, and the run it continues. */
  async #preconditions(hostId: string, input: OperationInput): Promise<{ backupId: string; continuesRunId: string }> {
    if (input.capability !== 'upgrade' && input.capability !== 'rollback') return { backupId: '', continuesRunId: '' };
    const runs = await this.#d.runs.loadHost(hostId);
    const steps = runs
      .flatMap((run) => run.history.map((h) => ({ run, h })))
      .filter(({ h }) => h.outcome === 'succeeded' || h.step === 'upgrade')
      .sort((a, b) => new Date(b.h.finishedAt ?? 0).getTime() - new Date(a.h.finishedAt ?? 0).getTime());
    let backupId = input.backupId ?? '';
    let continuesRunId = '';
    if (input.capability === 'upgrade') {
      // The run whose backup step made the backup: the upgrade starts from what it left.
      const made = steps.find(
        ({ h }) => h.step === 'backup' && h.outcome === 'succeeded' && (!backupId || backupIdOf(h.report) === backupId),
      );
      if (made) {
        backupId ||= backupIdOf(made.h.report);
        continuesRunId = made.run.runId;
      }
    } else {
      // The run that last began an upgrade: its snapshot, backup and drained workloads.
      const upgraded = steps.find(({ h }) => h.step === 'upgrade');
      if (upgraded) {
        continuesRunId = upgraded.run.runId;
        backupId ||= upgraded.run.backupId;
      }
      backupId ||= steps.map(({ h }) => (h.step === 'backup' ? backupIdOf(h.report) : '')).find((id) => id !== '') ?? '';
    }
    if (!backupId) {
      throw new OperationNeedsBackupError(
        `${input.capability} of ${hostId} needs a verified backup of the host: run a backup operation first (or name one with backupId)`,
        { details: { field: 'body.backupId' } },
      );
    }
    const status = await this.#d.bus.request('backupStatusRequest', { hostId, backupId }, this.#d.requestTimeoutMs).catch((err: Error) => {
      throw new UnavailableError(`the backup service did not answer about backup ${backupId}: ${err.message}`, { cause: err });
    });
    if (status.state !== BackupState.VERIFIED || status.backupId !== backupId) {
      throw new OperationNeedsBackupError(
        `${input.capability} of ${hostId} needs a verified backup; backup ${backupId} is ${BackupState[status.state]?.toLowerCase() ?? 'unknown'}${status.reason ? ` (${status.reason})` : ''}`,
        { details: { field: 'body.backupId', backupId } },
      );
    }
    return { backupId, continuesRunId };
  }
}
