// What an operator does to a live plan: pause, resume, approve the gate, abort (hosts in
// flight finish or roll back), retry failed hosts, exclude a pending host, resolve a held
// one. Each checks the plan's state first (PlanConflictError, changing nothing) and is
// recorded in the audit log.
import type { Logger } from '@yixing/common';
import type { AuditLog } from '../audit/audit-log.ts';
import type { HostRunDoc, PlanDoc } from '../db/models.ts';
import { newRunId } from '../host-runs/new-run.ts';
import { abortedRun, isInStep, resolvedHeld, retriedRun } from '../host-runs/run-changes.ts';
import type { Dispatcher } from './dispatcher.ts';
import { PlanConflictError } from './errors.ts';
import type { LiveState } from './live-state.ts';
import { budgetExhausted } from './plan-progress.ts';
import type { PlanRuntime } from './plan-runtime.ts';
import type { PlanWriter } from './plan-writer.ts';

export interface OperatorActionsDeps {
  live: LiveState;
  dispatcher: Dispatcher;
  plans: PlanWriter;
  audit: Pick<AuditLog, 'record'>;
  log: Logger;
  clock: () => number;
  config: { deadlineGraceMs: number };
}

export class OperatorActions {
  readonly #deps: OperatorActionsDeps;

  constructor(deps: OperatorActionsDeps) {
    this.#deps = deps;
  }

  #live(planId: string): PlanRuntime {
    const rt = this.#deps.live.plans.get(planId);
    if (!rt) throw new PlanConflictError(`plan ${planId} is not live (finished, or unknown)`);
    return rt;
  }

  async pause(planId: string, actor: string): Promise<PlanDoc> {
    const rt = this.#live(planId);
    if (!['running', 'waiting-approval'].includes(rt.plan.state))
      throw new PlanConflictError(`cannot pause a plan that is ${rt.plan.state}`);
    await this.#deps.plans.setState(rt, 'paused', `paused by ${actor}`);
    await this.#deps.audit.record(actor, 'plan.pause', { planId });
    return rt.plan;
  }

  async resume(planId: string, actor: string): Promise<PlanDoc> {
    const rt = this.#live(planId);
    if (rt.plan.state !== 'paused' && rt.plan.state !== 'budget-exhausted')
      throw new PlanConflictError(`cannot resume a plan that is ${rt.plan.state}`);
    if (rt.plan.state === 'budget-exhausted') {
      const still = budgetExhausted(rt);
      if (still) throw new PlanConflictError(`${still}; retry failed hosts, exclude hosts or abort`);
    }
    const gate = rt.plan.gate;
    await this.#deps.plans.setState(rt, gate?.mode === 'manual' ? 'waiting-approval' : 'running', `resumed by ${actor}`);
    await this.#deps.audit.record(actor, 'plan.resume', { planId });
    return rt.plan;
  }

  async approve(planId: string, actor: string): Promise<PlanDoc> {
    const rt = this.#live(planId);
    if (rt.plan.state !== 'waiting-approval' || !rt.plan.gate)
      throw new PlanConflictError(`plan is ${rt.plan.state}; there is no gate to approve`);
    const phase = rt.plan.gate.phase;
    await this.#deps.plans.setState(rt, 'running', `${rt.plan.phases[phase]?.name ?? 'next wave'} approved by ${actor}`, {
      openPhase: phase,
      gate: null,
    });
    await this.#deps.audit.record(actor, 'plan.approve', { planId, details: { phase } });
    return rt.plan;
  }

  async abort(planId: string, actor: string, inFlight: 'finish' | 'rollback'): Promise<PlanDoc> {
    const rt = this.#live(planId);
    if (rt.plan.state === 'aborting') throw new PlanConflictError('plan is already aborting');
    await this.#deps.plans.setState(
      rt,
      'aborting',
      `aborted by ${actor}; hosts in flight ${inFlight === 'finish' ? 'finish' : 'roll back'}`,
      {
        abortMode: inFlight,
      },
    );
    await this.#deps.audit.record(actor, 'plan.abort', { planId, details: { inFlight } });
    if (inFlight === 'rollback') {
      const { live, dispatcher, log, clock, config } = this.#deps;
      for (const docId of [...rt.active]) {
        // Not awaited (the operator gets the plan at once); a failed write leaves the run
        // active, and the deadline and heartbeat supervision of the aborting plan go on.
        void live
          .withLock(docId, async () => {
            const run = rt.run(docId);
            if (run.state !== 'active' || run.step === 'rollback' || !isInStep(run)) return;
            dispatcher.cancel(run, 'plan aborted');
            const { after, rollsBack } = abortedRun(run, rt.changeContext(clock(), config.deadlineGraceMs));
            if ((await live.commit(rt, run, after)) && rollsBack) dispatcher.send(rt, rt.run(docId));
          })
          .catch((err: Error) => log.error({ err: err.message, run: docId }, 'abort of a host in flight not recorded'));
      }
    }
    return rt.plan;
  }

  async retryFailed(planId: string, actor: string): Promise<{ retried: number }> {
    const rt = this.#live(planId);
    if (rt.plan.state === 'aborting') throw new PlanConflictError('cannot retry hosts of an aborting plan');
    const failed = [...rt.runs.values()].filter((r) => r.state === 'failed');
    let retried = 0;
    await Promise.all(
      failed.map((r) =>
        this.#deps.live.withLock(r._id, async () => {
          const run = rt.run(r._id);
          if (run.state !== 'failed') return;
          if (await this.#deps.live.commit(rt, run, retriedRun(run, newRunId()))) retried++;
        }),
      ),
    );
    await this.#deps.audit.record(actor, 'plan.retry-failed', { planId, details: { retried } });
    if (rt.plan.state === 'budget-exhausted' && !budgetExhausted(rt))
      await this.#deps.plans.setState(rt, 'running', `${retried} failed hosts retried by ${actor}`);
    return { retried };
  }

  async exclude(planId: string, hostId: string, actor: string): Promise<HostRunDoc> {
    const rt = this.#live(planId);
    const docId = `${planId}/${hostId}`;
    return this.#deps.live.withLock(docId, async () => {
      const run = rt.runs.get(docId);
      if (!run) throw new PlanConflictError(`host ${hostId} is not in plan ${planId}`);
      if (run.state !== 'pending') throw new PlanConflictError(`host ${hostId} is ${run.state}; only a pending host can be excluded`);
      if (!(await this.#deps.live.commit(rt, run, { ...run, state: 'excluded', exclusionReason: `excluded by ${actor}` })))
        throw new PlanConflictError(`host ${hostId} changed meanwhile; try again`);
      await this.#deps.audit.record(actor, 'plan.exclude-host', { planId, hostId });
      return rt.run(docId);
    });
  }

  /** For a held host: roll back, or run the failed step again. */
  async resolveHeld(planId: string, hostId: string, actor: string, action: 'rollback' | 'retry'): Promise<HostRunDoc> {
    const rt = this.#live(planId);
    const docId = `${planId}/${hostId}`;
    const { live, dispatcher, clock, config } = this.#deps;
    return live.withLock(docId, async () => {
      const run = rt.runs.get(docId);
      if (run?.state !== 'held' || !run.failure) throw new PlanConflictError(`host ${hostId} is not held in plan ${planId}`);
      const after = resolvedHeld({ ...run, failure: run.failure }, action, rt.changeContext(clock(), config.deadlineGraceMs));
      if (!(await live.commit(rt, run, after))) throw new PlanConflictError(`host ${hostId} changed meanwhile; try again`);
      dispatcher.send(rt, rt.run(docId));
      await this.#deps.audit.record(actor, `host.${action}`, { planId, hostId });
      return rt.run(docId);
    });
  }
}
