// Creating plans: the checks that need the inventory and the clock (a selector that
// matches nothing, limits and budgets that resolve to zero, windows in the past), the
// host lock that keeps a host in at most one live plan, and the plan's host-runs.
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDuplicateKey, type Logger, UnavailableError, YxError } from '@yixing/common';
import type { AuditLog } from '../audit/audit-log.ts';
import { type DomainLimitDoc, FINAL_PLAN_STATES, type HostRunDoc, type Models, type PhaseDoc, type PlanDoc } from '../db/models.ts';
import type { RunStore } from '../db/run-store.ts';
import { excludedRun, pendingRun } from '../host-runs/new-run.ts';
import { type Capability, runPath } from '../host-runs/run-paths.ts';
import type { Inventory, InventoryHost } from '../inventory/inventory.ts';
import type { OperationRef } from '../operations/operation-ref.ts';
import { quorumGroup, roleKey } from '../reconcile/admission.ts';
import type { Engine } from '../reconcile/engine.ts';
import { minAgentVersionProblem, splitByAgentVersion } from './agent-version.ts';
import { countBy, domainAmounts, orderHosts, planPhases, requiredHealthy, resolveAmount } from './plan-math.ts';
import { type LabelSelector, type PlanInput, type PlanSpec, withDefaults } from './plan-spec.ts';
import { lastAssessments, unchangedSince } from './reassessment.ts';
import { timeLeftInWindow } from './windows.ts';

/** A plan that is well-formed JSON but cannot work; names the field and the reason. */
export class PlanValidationError extends YxError {
  readonly code = 'PLAN_INVALID';
  readonly retryable = false;
  override readonly httpStatus = 400;
  readonly field: string;
  readonly reason: string;

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`, { details: { field: `body.${field}`, reason } });
    this.field = field;
    this.reason = reason;
  }
}

export class HostsBusyError extends YxError {
  readonly code = 'HOSTS_IN_ANOTHER_PLAN';
  readonly retryable = false;
  override readonly httpStatus = 409;
  readonly hosts: { hostId: string; planId: string }[];

  constructor(hosts: { hostId: string; planId: string }[]) {
    const shown = hosts
      .slice(0, 5)
      .map((h) => `${h.hostId} (plan ${h.planId})`)
      .join(', ');
    super(`${hosts.length} selected hosts are in another live plan: ${shown}${hosts.length > 5 ? ', …' : ''}`, {
      details: { hosts: hosts.slice(0, 100) },
    });
    this.hosts = hosts;
  }
}

/** An Idempotency-Key that names an earlier creation with a different body. */
export class IdempotencyKeyReusedError extends YxError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  readonly retryable = false;
  override readonly httpStatus = 422;
}

/** An Idempotency-Key that is not 1 to 255 visible ASCII characters. */
export class IdempotencyKeyInvalidError extends YxError {
  readonly code = 'IDEMPOTENCY_KEY_INVALID';
  readonly retryable = false;
  override readonly httpStatus = 400;
}

/** What an Idempotency-Key may be (1 to 255 visible ASCII characters): the API's header schema says the same. */
export const IDEMPOTENCY_KEY_PATTERN = '^[!-~]{1,255}$';
const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** The Idempotency-Key header of a creating route, for its schema: what a retry with it gets. */
export const idempotencyKeyHeaders = (what: 'plan' | 'operation') =>
  ({
    type: 'object',
    properties: {
      'idempotency-key': {
        type: 'string',
        pattern: IDEMPOTENCY_KEY_PATTERN,
        description: `Retrying with the same key and body answers the same ${what}, created at most once; the key with another body is a 422.`,
      },
    },
  }) as const;

/** JSON with object keys sorted, so that equal bodies hash alike whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface CreateOptions {
  /** The client's Idempotency-Key: a retry with the same key and body gets the same plan. */
  idempotencyKey?: string | undefined;
  /** The plan carries one operation (a plan of one host, its id the operation's). */
  operation?: OperationRef | undefined;
}

export interface PlanServiceDeps {
  models: Models;
  runs: RunStore;
  engine: Engine;
  inventory: Inventory;
  audit: AuditLog;
  log: Logger;
  clock: () => number;
  /**
   * Asking whether a plan document was stored when the answer of its insert was lost: the
   * first delay, the longest, and how many checks the request waits for before it answers
   * 503 and leaves the question to the background (its hosts held meanwhile).
   */
  settleBackoffMs?: { first: number; max: number; attempts: number };
  /** The cluster probe targets a plan may name (tcp host:port, http URLs); none: plans cannot probe. */
  probeTargets?: readonly string[];
}

const SETTLE_BACKOFF_MS = { first: 200, max: 30_000, attempts: 5 };

/** A matcher for a selector: every entry must match; a list matches any of its values. */
export function compileSelector(selector: LabelSelector): (host: Pick<InventoryHost, '_id' | 'labels' | 'facts'>) => boolean {
  const entries = (['pool', 'cluster', 'zone', 'rack', 'role'] as const)
    .filter((k) => selector[k] !== undefined)
    .map((k) => [k, new Set([selector[k]].flat() as string[])] as const);
  const ids = selector.hosts ? new Set(selector.hosts) : undefined;
  // A role is the operator's label or one the agent detected.
  const matches = (host: Pick<InventoryHost, 'labels' | 'facts'>, k: (typeof entries)[number][0], values: Set<string>): boolean =>
    values.has(host.labels[k]) || (k === 'role' && (host.facts.roles ?? []).some((r) => values.has(r)));
  return (host) => entries.every(([k, values]) => matches(host, k, values)) && (ids === undefined || ids.has(host._id));
}

function checkWindows(spec: PlanSpec, now: number): void {
  spec.windows.forEach((w, i) => {
    if ('start' in w) {
      const start = Date.parse(w.start);
      const end = Date.parse(w.end);
      if (!(end > start)) throw new PlanValidationError(`windows[${i}].end`, `${w.end} is not after start ${w.start}`);
      if (end <= now) throw new PlanValidationError(`windows[${i}].end`, `${w.end} is in the past`);
      if (end - start <= spec.windowCutoffMinutes * 60_000) {
        throw new PlanValidationError('windowCutoffMinutes', `${spec.windowCutoffMinutes} min cut-off leaves no time in windows[${i}]`);
      }
    } else {
      if (w.from === w.to) throw new PlanValidationError(`windows[${i}].to`, 'equals from: the window would be empty');
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: w.timezone ?? 'UTC' });
      } catch {
        throw new PlanValidationError(`windows[${i}].timezone`, `${JSON.stringify(w.timezone)} is not an IANA time zone`);
      }
      timeLeftInWindow(w, now);
    }
  });
  if (spec.promotion.mode === 'auto' && (spec.promotion as { soakSeconds?: number }).soakSeconds === undefined) {
    throw new PlanValidationError('promotion.soakSeconds', 'is required with mode auto');
  }
}

/** What a tcp probe's target is (host:port), and an http one's (an http(s) URL). */
export const PROBE_TARGET_PATTERNS = { tcp: /^\[?[^\]\s]+\]?:\d{1,5}$/, http: /^https?:\/\/\S+$/ } as const;

/**
 * A plan's cluster probe is fetched by every agent it reaches, from inside the fleet: only
 * a target the scheduler is configured with (YX_CLUSTER_PROBE_TARGETS) may be probed, or
 * a plan could make the fleet request any address (server-side request forgery).
 */
export function checkProbe(probe: PlanSpec['clusterCheck']['probe'], allowed: readonly string[]): void {
  if (!probe) return;
  const field = 'clusterCheck.probe.target';
  if (!PROBE_TARGET_PATTERNS[probe.kind].test(probe.target)) {
    throw new PlanValidationError(field, `${JSON.stringify(probe.target)} is not ${probe.kind === 'tcp' ? 'host:port' : 'an http(s) URL'}`);
  }
  const isUrl = (target: string): boolean => PROBE_TARGET_PATTERNS.http.test(target);
  if (!allowed.some((a) => a === probe.target && isUrl(a) === (probe.kind === 'http'))) {
    const configured = allowed.filter((a) => isUrl(a) === (probe.kind === 'http'));
    throw new PlanValidationError(
      field,
      `${JSON.stringify(probe.target)} is not a configured ${probe.kind} probe target (YX_CLUSTER_PROBE_TARGETS: ${
        configured.length > 0 ? configured.join(', ') : 'none'
      })`,
    );
  }
}

export class PlanService {
  readonly #deps: PlanServiceDeps;

  constructor(deps: PlanServiceDeps) {
    this.#deps = deps;
  }

  #creating: Promise<unknown> = Promise.resolve();

  /**
   * Creates a plan; creations run one at a time (see #checkHostsFree). All or nothing:
   * the runs and the audit entry are written first, the plan document is the commit point,
   * and the engine takes the plan last; a failure before the commit leaves nothing a
   * reader sees (leftovers are removed here, by a retry, or at start). With an
   * idempotency key a retry gets the same plan, or finishes a creation that failed.
   */
  create(input: PlanInput, actor: string, opts: CreateOptions = {}): Promise<PlanDoc> {
    return this.#serialized(() => this.#createOnce(input, actor, opts.idempotencyKey, opts.operation));
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#creating.then(fn, fn);
    this.#creating = next.catch(() => undefined);
    return next;
  }

  async #createOnce(input: PlanInput, actor: string, key: string | undefined, operation: OperationRef | undefined): Promise<PlanDoc> {
    if (key === undefined) return this.#create(input, actor, operation, undefined);
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new IdempotencyKeyInvalidError('Idempotency-Key: must be 1 to 255 visible ASCII characters', {
        details: { field: 'headers.idempotency-key' },
      });
    }
    const { models, clock } = this.#deps;
    const bodySha256 = createHash('sha256')
      .update(canonicalJson(operation ? { input, operation } : input))
      .digest('hex');
    const prior = await models.PlanRequest.findById(key).lean();
    if (prior) {
      if (prior.bodySha256 !== bodySha256) {
        throw new IdempotencyKeyReusedError(`Idempotency-Key ${key} was used for a different plan (${prior.planId})`, {
          details: { planId: prior.planId },
        });
      }
      const done = await this.#committed(prior.planId);
      if (done) return done;
      // The earlier attempt failed before its commit: create it again under the same id.
      await this.#discard(prior.planId);
      return this.#create(input, actor, operation, prior.planId);
    }
    return this.#create(input, actor, operation, undefined, async (planId) => {
      try {
        await models.PlanRequest.create({ _id: key, planId, bodySha256, actor, createdAt: new Date(clock()) });
      } catch (err) {
        // Another scheduler took the key between the read and this insert.
        if (isDuplicateKey(err)) throw new UnavailableError(`Idempotency-Key ${key}: a creation with it is in progress; retry`);
        throw err;
      }
    });
  }

  /** The committed plan of an earlier attempt, in the engine (it may have failed after its commit). */
  async #committed(planId: string): Promise<PlanDoc | undefined> {
    const { engine, runs } = this.#deps;
    const plan = await this.#deps.models.Plan.findById(planId).lean<PlanDoc>();
    if (!plan) {
      // Settled: not stored. Hosts held for it while that was unknown are free again.
      engine.releaseHosts(planId);
      return undefined;
    }
    if (FINAL_PLAN_STATES.includes(plan.state)) engine.releaseHosts(planId);
    else if (!engine.runtime(planId)) engine.addPlan(plan, await runs.loadPlan(planId));
    return plan;
  }

  /** Removes what a creation that did not commit wrote: its audit entry, then its runs. */
  async #discard(planId: string): Promise<void> {
    // The audit entry goes first: one without runs would never be found as a leftover.
    await this.#deps.models.Audit.deleteMany({ planId, action: 'plan.create' });
    await this.#deps.runs.deletePlan(planId);
  }

  async #create(
    input: PlanInput,
    actor: string,
    operation: OperationRef | undefined,
    fixedPlanId: string | undefined,
    reserve: (planId: string) => Promise<void> = async () => undefined,
  ): Promise<PlanDoc> {
    const { models, inventory, clock } = this.#deps;
    const now = clock();
    const spec = withDefaults(input);
    checkWindows(spec, now);
    checkProbe(spec.clusterCheck.probe, this.#deps.probeTargets ?? []);

    const minProblem = spec.minAgentVersion === undefined ? undefined : minAgentVersionProblem(spec.minAgentVersion);
    if (minProblem) throw new PlanValidationError('minAgentVersion', minProblem);

    const selected = inventory.select({}).filter(compileSelector(spec.selector));
    if (selected.length === 0) throw new PlanValidationError('selector', 'matches no registered host');
    // Hosts with too old an agent are excluded now; canary, waves and budgets count the rest.
    const { eligible: hosts, refused } = splitByAgentVersion(selected, spec.minAgentVersion);
    if (hosts.length === 0) {
      throw new PlanValidationError(
        'minAgentVersion',
        `refuses all ${selected.length} selected hosts (${refused[0]?.host._id}: ${refused[0]?.reason}); upgrade their agents first`,
      );
    }
    const capability: Capability = operation?.capability ?? (spec.mode === 'assess' ? 'assess' : 'migrate');
    const assessing = capability === 'assess';
    if (spec.mode === 'assess' && (input.canary !== undefined || (input.waves?.length ?? 0) > 0)) {
      throw new PlanValidationError(
        input.canary !== undefined ? 'canary' : 'waves',
        'an assessment changes nothing: it has no canary or waves',
      );
    }
    // Reassessing what changed: the others keep their last assessment (an excluded run says which).
    const unchanged = new Map<string, { why: string; planId: string }>();
    if (spec.mode === 'assess' && spec.reassess === 'changed') {
      const last = await lastAssessments(
        models,
        hosts.map((h) => h._id),
      );
      for (const h of hosts) {
        const prior = last.get(h._id);
        const why = unchangedSince(h.facts.factsDigest, prior);
        if (why && prior) unchanged.set(h._id, { why, planId: prior.planId });
      }
      if (unchanged.size === hosts.length) {
        throw new PlanValidationError(
          'reassess',
          `all ${hosts.length} selected hosts are unchanged since their last assessment (GET /v1/assessment has it); nothing to assess`,
        );
      }
    }
    const assessed = unchanged.size > 0 ? hosts.filter((h) => !unchanged.has(h._id)) : hosts;
    const total = assessed.length;

    // An assessment changes nothing: one phase, no gate, a budget it can never exhaust.
    const phases = assessing ? [{ index: 0, name: 'assessment', size: total }] : planPhases(total, spec.canary, spec.waves);
    if ((phases[0]?.size ?? 0) === 0) throw new PlanValidationError('canary', `resolves to 0 of ${total} hosts`);
    phases.forEach((p, i) => {
      if (i > 0 && p.size === 0) {
        throw new PlanValidationError(
          `waves[${i - 1}]`,
          `no hosts left for ${p.name}: the canary and the waves before it take all ${total}`,
        );
      }
    });
    const budget = assessing ? total + 1 : resolveAmount(spec.errorBudget.plan, total);
    if (budget < 1) {
      throw new PlanValidationError('errorBudget.plan', `resolves to 0 failures of ${total} hosts: the plan could never start a host`);
    }
    const phaseDocs: PhaseDoc[] = phases.map((p) => {
      const b = spec.errorBudget.wave && !assessing ? resolveAmount(spec.errorBudget.wave, p.size) : budget;
      if (b < 1)
        throw new PlanValidationError('errorBudget.wave', `resolves to 0 failures for ${p.name} (${p.size} hosts): it could never start`);
      return { ...p, budget: b };
    });

    // Counted in one pass each: a scan of the hosts per cluster took 2 s of a 100,000-host
    // plan's creation, with the event loop (and the leader's lease renewal) blocked.
    const domainLimits: DomainLimitDoc[] = [];
    for (const [domain, amount] of domainAmounts(spec.limits)) {
      const selectedIn = countBy(hosts, (h) => h.labels[domain]);
      for (const name of [...selectedIn.keys()].sort()) {
        const members = Math.max(inventory.members(domain, name).size, selectedIn.get(name) ?? 0);
        const limit = resolveAmount(amount, members);
        const field = `limits.per${domain[0]?.toUpperCase()}${domain.slice(1)}`;
        if (limit < 1) throw new PlanValidationError(field, `resolves to 0 hosts in ${domain} ${name || '(none)'} of ${members} hosts`);
        domainLimits.push({ domain, name, members, limit });
      }
    }

    // A quorum group (a cluster's hosts of the same roles) whose rule can never let one
    // host go would leave the plan stuck.
    const minHealthy = spec.clusterCheck.minHealthyPercent;
    const rolesOf = (id: string): readonly string[] => inventory.get(id)?.facts.roles ?? [];
    const groupOf = (h: (typeof hosts)[number]): string => `${h.labels.cluster}|${roleKey(h.facts.roles ?? [])}`;
    const selectedInGroup = countBy(hosts, groupOf);
    const checked = new Set<string>();
    for (const h of hosts) {
      const cluster = h.labels.cluster;
      const key = groupOf(h);
      if (cluster === '' || checked.has(key)) continue;
      checked.add(key);
      const group = quorumGroup(inventory.members('cluster', cluster), h._id, rolesOf);
      const members = Math.max(group.size, selectedInGroup.get(key) ?? 0);
      const required = requiredHealthy(members, minHealthy);
      if (required > members - 1) {
        const of = (h.facts.roles ?? []).length > 0 ? ` with roles ${roleKey(h.facts.roles ?? [])}` : '';
        throw new PlanValidationError(
          'clusterCheck.minHealthyPercent',
          `cluster ${cluster} has ${members} hosts${of}: taking one leaves ${members - 1} healthy, below the ${required} that ${minHealthy} % requires; no host of it could ever start`,
        );
      }
    }

    const day = new Date(now).toISOString().slice(0, 10).replace(/-/g, '');
    const planId = fixedPlanId ?? (operation ? `op-${day}${randomBytes(6).toString('hex')}` : `p-${day}-${randomBytes(4).toString('hex')}`);
    const byId = new Map(assessed.map((h) => [h._id, h]));
    const ordered = orderHosts(
      planId,
      assessed.map((h) => ({ hostId: h._id, cluster: h.labels.cluster, zone: h.labels.zone, rack: h.labels.rack })),
    );
    this.#checkHostsFree(ordered.map((h) => h.hostId));

    const plan: PlanDoc = {
      _id: planId,
      name: spec.name,
      spec,
      state: spec.startPaused ? 'paused' : 'running',
      stateReason: spec.startPaused ? 'created paused' : 'created',
      abortMode: null,
      phases: phaseDocs,
      openPhase: 0,
      gate: null,
      budget,
      domainLimits,
      hostCount: selected.length,
      createdAt: new Date(now),
      updatedAt: new Date(now),
      finishedAt: null,
      createdBy: actor,
      ...(operation ? { operation } : {}),
      version: 0,
    };
    let phaseIndex = 0;
    let left = phaseDocs[0]?.size ?? 0;
    const runs: HostRunDoc[] = ordered.map((h, order) => {
      while (left === 0) left = phaseDocs[++phaseIndex]?.size ?? Number.POSITIVE_INFINITY;
      left--;
      const facts = byId.get(h.hostId)?.facts;
      return {
        ...pendingRun({ planId, hostId: h.hostId, order, phase: phaseIndex, cluster: h.cluster, zone: h.zone, rack: h.rack }),
        path: runPath(capability, (facts?.roles ?? []).length > 0),
        factsDigest: facts?.factsDigest ?? '',
        ...(operation
          ? { backupId: operation.backupId, backupVerified: operation.backupId !== '', continuesRunId: operation.continuesRunId }
          : {}),
      };
    });
    // Refused and unchanged runs come last, in no phase (one past the last): phase counters never see them.
    const leftOut: { host: (typeof hosts)[number]; reason: string; reuses?: string }[] = [
      ...refused,
      ...hosts.flatMap((host) => {
        const u = unchanged.get(host._id);
        return u ? [{ host, reason: u.why, reuses: u.planId }] : [];
      }),
    ];
    for (const { host: h, reason, reuses } of leftOut.sort((a, b) => (a.host._id < b.host._id ? -1 : 1))) {
      const { cluster, zone, rack } = h.labels;
      const run = excludedRun({ planId, hostId: h._id, order: runs.length, phase: phaseDocs.length, cluster, zone, rack }, reason);
      runs.push(reuses ? { ...run, reusesAssessmentOf: reuses } : run);
    }
    await reserve(planId);
    // Before the commit: runs (a plan document without them would look live with nothing to
    // do), then the audit entry. A crash here leaves runs without a plan: removed at start.
    try {
      await this.#deps.runs.insertNew(runs);
      await this.#deps.audit.record(actor, 'plan.create', {
        planId,
        details: {
          name: spec.name,
          hosts: selected.length,
          profile: spec.profile,
          ...(spec.minAgentVersion === undefined ? {} : { minAgentVersion: spec.minAgentVersion, refusedForAgentVersion: refused.length }),
        },
      });
    } catch (err) {
      await this.#discardAfter(planId, err);
      throw err;
    }
    // The commit point. A failed insert may still have been written (its answer lost).
    try {
      await models.Plan.create(plan);
    } catch (err) {
      const stored = await this.#stored(planId);
      if (stored === undefined) {
        // Unknown: the plan may exist without the engine knowing it, and host locks are
        // the engine's. Its hosts stay busy until a check, a retry with the key or the
        // next start settles it.
        this.#settleLater(
          planId,
          ordered.map((h) => h.hostId),
        );
        throw new UnavailableError(`plan ${planId}: whether it was stored is not known yet; its hosts are held until it is`, {
          cause: err,
          details: { planId },
        });
      }
      if (!stored) {
        await this.#discardAfter(planId, err);
        throw err;
      }
    }
    try {
      this.#deps.engine.addPlan(plan, runs);
    } catch (err) {
      // Not running, so it can be taken back: the caller gets an error and nothing else.
      this.#deps.engine.removePlan(planId);
      await models.Plan.deleteOne({ _id: planId }).catch((e: Error) =>
        this.#deps.log.error({ planId, err: e.message }, 'plan not taken back'),
      );
      await this.#discardAfter(planId, err);
      throw err;
    }
    return plan;
  }

  /** Whether the plan document is stored, asked a few times with backoff; undefined if nobody could say. */
  async #stored(planId: string): Promise<boolean | undefined> {
    const { first, max, attempts } = this.#deps.settleBackoffMs ?? SETTLE_BACKOFF_MS;
    for (let i = 0, delay = first; i < attempts; i++, delay = Math.min(delay * 2, max)) {
      try {
        return (await this.#deps.models.Plan.exists({ _id: planId })) !== null;
      } catch (err) {
        this.#deps.log.warn({ planId, err: (err as Error).message }, 'cannot tell whether a plan was stored; asking again');
        if (i + 1 < attempts) await sleep(delay);
      }
    }
    return undefined;
  }

  /**
   * Holds the hosts of a plan whose commit is unknown and asks in the background (between
   * creations) until the database answers: a stored plan goes to the engine, one not
   * stored is discarded; either way the hold ends. The timers do not keep a stopping
   * process alive: at the next start the engine loads the plan or its runs are removed.
   */
  #settleLater(planId: string, hostIds: string[]): void {
    const { engine, log } = this.#deps;
    const { first, max } = this.#deps.settleBackoffMs ?? SETTLE_BACKOFF_MS;
    engine.holdHosts(planId, hostIds);
    const settle = async (): Promise<boolean> => {
      if (engine.runtime(planId)) return true; // a retry with the key finished it
      if (await this.#committed(planId)) return true;
      await this.#discard(planId);
      log.warn({ planId }, 'a plan creation whose commit was unknown was not stored; discarded and its hosts freed');
      return true;
    };
    void (async () => {
      for (let delay = first; ; delay = Math.min(delay * 2, max)) {
        await sleep(delay, undefined, { ref: false });
        const done = await this.#serialized(settle).catch((err: Error) => {
          log.warn({ planId, err: err.message }, 'cannot settle a plan creation yet; its hosts stay held');
          return false;
        });
        if (done) return;
      }
    })().catch((err: Error) => log.error({ planId, err: err.message }, 'settling a plan creation stopped; the next start settles it'));
  }

  async #discardAfter(planId: string, cause: unknown): Promise<void> {
    this.#deps.log.warn({ planId, err: (cause as Error).message }, 'plan creation failed before its commit; discarding what it wrote');
    await this.#discard(planId).catch((e: Error) =>
      this.#deps.log.error({ planId, err: e.message }, 'leftovers of a failed plan creation kept; removed at the next start'),
    );
  }

  /**
   * A host is in at most one live plan. The live plans and their hosts are the engine's
   * (rebuilt from the database at start); creations are serialized, so two plans created
   * at once cannot both take a host. One scheduler writes; a second would need a lease.
   */
  #checkHostsFree(ids: string[]): void {
    const busy = ids.map((hostId) => ({ hostId, planId: this.#deps.engine.livePlanOf(hostId) })).filter((b) => b.planId !== null);
    if (busy.length > 0) throw new HostsBusyError(busy.map((b) => ({ hostId: b.hostId, planId: b.planId as string })));
  }

  /** Deletes what plans that were never created wrote (a crash during create): runs and audit entry. */
  async deleteOrphanRuns(): Promise<number> {
    const planIds: string[] = await this.#deps.models.RunState.distinct('planId');
    let deleted = 0;
    for (const planId of planIds) {
      if (await this.#deps.models.Plan.exists({ _id: planId })) continue;
      await this.#discard(planId);
      deleted++;
    }
    return deleted;
  }
}
