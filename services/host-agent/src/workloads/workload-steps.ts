// The drain and undrain steps of the real driver, and the post-check's view of the
// workloads: each declared role's driver, in order, with what drain took away kept in the
// run's data (the agent's state, which a rollback of the root does not revert).
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailureKind } from '@yixing/common/base';
import type { StepContext, StepOutcome } from '../drivers/driver.ts';
import { type CommandPort, realCommands } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import { containersDriver } from './containers.driver.ts';
import { hadoopDrivers } from './hadoop.driver.ts';
import { kubernetesDriver } from './kubernetes.driver.ts';
import { libvirtDriver } from './libvirt.driver.ts';
import { detectRoles } from './roles.ts';
import { DRAIN_ORDER, declaredRoles, type Role, type WorkloadHooks } from './workload-config.ts';
import type { RestoreResult, WorkloadDriver, WorkloadEnv } from './workload-driver.ts';

// biome-ignore lint/suspicious/noExplicitAny: each role's driver has its own hook and record types
const DRIVERS: Record<Role, WorkloadDriver<any, any>> = {
  containers: containersDriver,
  libvirt: libvirtDriver,
  'kubernetes-node': kubernetesDriver,
  'hdfs-datanode': hadoopDrivers.hdfs,
  'yarn-nodemanager': hadoopDrivers.yarn,
};

/** The run-data key of what drain took away. */
export const DRAIN_RECORDS_KEY = 'workloads';

/** One role's drain: the hook it ran with (undrain uses the same) and what it recorded. */
export interface DrainRecord {
  role: Role;
  hook: unknown;
  record: unknown;
}

export type DrainRecords = Partial<Record<Role, DrainRecord>>;

export interface WorkloadDeps {
  /** The site's hooks (`--workloads FILE`): they apply whatever was detected. */
  site?: WorkloadHooks;
  /** Runs the workload CLIs; unit tests record it. */
  port?: CommandPort;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The hooks that apply to a host: the profile's for the roles detected on it (a profile
 * is written for many hosts), the site file's whatever was detected (it is this host's). Pure.
 */
export function applicableHooks(
  profile: WorkloadHooks | undefined,
  site: WorkloadHooks | undefined,
  detected: readonly Role[],
): WorkloadHooks {
  const out: WorkloadHooks = {};
  for (const role of DRAIN_ORDER) {
    const hook = site?.[role] ?? (detected.includes(role) ? profile?.[role] : undefined);
    // biome-ignore lint/suspicious/noExplicitAny: the same role's hook type on both sides
    if (hook) (out as Record<Role, any>)[role] = hook;
  }
  return out;
}

/** The roles to undrain, in reverse drain order. Pure. */
export function undrainOrder(records: DrainRecords): Role[] {
  return [...DRAIN_ORDER].reverse().filter((r) => records[r] !== undefined);
}

function env(ctx: StepContext, deps: WorkloadDeps): WorkloadEnv {
  return {
    port: deps.port ?? realCommands,
    hostname: hostname(),
    log: ctx.log,
    signal: ctx.signal,
    sleep: deps.sleep ?? ((ms) => sleep(ms, undefined, { signal: ctx.signal })),
  };
}

const failure = (code: string, message: string, report: unknown): StepOutcome => ({
  ok: false,
  code,
  message,
  retryable: false,
  kind: FailureKind.EXECUTION,
  report,
});

export async function drainStep(
  ctx: StepContext,
  root: HostRoot,
  profileHooks: WorkloadHooks | undefined,
  deps: WorkloadDeps,
): Promise<StepOutcome> {
  const e = env(ctx, deps);
  const detected = await detectRoles(root, e.port);
  const hooks = applicableHooks(profileHooks, deps.site, detected);
  const roles = declaredRoles(hooks);
  if (roles.length === 0) {
    ctx.log(`no workload hooks apply (roles detected: ${detected.join(', ') || 'none'})`, 'agent');
    return { ok: true, report: { roles: detected, workloads: [] } };
  }
  const records: DrainRecords = { ...(ctx.runData.get<DrainRecords>(DRAIN_RECORDS_KEY) ?? {}) };
  const save = async (role: Role, hook: unknown, record: unknown): Promise<void> => {
    records[role] = { role, hook, record };
    await ctx.runData.set(DRAIN_RECORDS_KEY, records);
  };
  const done: DrainRecord[] = [];
  for (const [i, role] of roles.entries()) {
    const hook = records[role]?.hook ?? hooks[role];
    ctx.progress((i / roles.length) * 100, `draining ${role}`);
    try {
      const record = await DRIVERS[role].drain(e, hook, (r) => save(role, hook, r), records[role]?.record);
      await save(role, hook, record);
      done.push({ role, hook, record });
    } catch (err) {
      const message = `drain of ${role} failed: ${(err as Error).message}`;
      ctx.log(message, 'stderr');
      // What was recorded stays in the run's data: the undrain that follows puts it back.
      return failure('WORKLOAD_DRAIN_FAILED', message, { roles: detected, workloads: done, failed: role });
    }
  }
  ctx.log(`drained ${roles.join(', ')}`, 'agent');
  return { ok: true, report: { roles: detected, workloads: done } };
}

export async function undrainStep(ctx: StepContext, deps: WorkloadDeps): Promise<StepOutcome> {
  const e = env(ctx, deps);
  const records = ctx.runData.get<DrainRecords>(DRAIN_RECORDS_KEY) ?? {};
  const roles = undrainOrder(records);
  if (roles.length === 0) {
    ctx.log('nothing was drained', 'agent');
    return { ok: true, report: { workloads: [] } };
  }
  const results: (RestoreResult & { role: Role })[] = [];
  for (const [i, role] of roles.entries()) {
    const r = records[role] as DrainRecord;
    ctx.progress((i / roles.length) * 100, `bringing back ${role}`);
    let result: RestoreResult;
    try {
      result = await DRIVERS[role].undrain(e, r.hook, r.record);
    } catch (err) {
      // One role failing does not keep the others from coming back.
      result = { restored: [], problems: [`undrain of ${role} failed: ${(err as Error).message}`] };
    }
    for (const p of result.problems) ctx.log(`undrain: ${p}`, 'stderr');
    results.push({ role, ...result });
  }
  const problems = results.flatMap((r) => r.problems);
  const report = { workloads: results };
  if (problems.length > 0) return failure('WORKLOADS_NOT_RESTORED', problems.join('; '), report);
  ctx.log(`workloads back: ${results.map((r) => `${r.role} (${r.restored.length})`).join(', ')}`, 'agent');
  return { ok: true, report };
}

/** What drain took away that does not run now (the post-check's workload check). */
export async function workloadProblems(ctx: StepContext, deps: WorkloadDeps): Promise<string[]> {
  const e = env(ctx, deps);
  const records = ctx.runData.get<DrainRecords>(DRAIN_RECORDS_KEY) ?? {};
  const problems: string[] = [];
  for (const role of undrainOrder(records)) {
    const r = records[role] as DrainRecord;
    try {
      problems.push(...(await DRIVERS[role].check(e, r.hook, r.record)));
    } catch (err) {
      problems.push(`${role} could not be checked: ${(err as Error).message}`);
    }
  }
  return problems;
}
