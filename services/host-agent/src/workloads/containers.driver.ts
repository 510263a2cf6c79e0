// Container hosts (Podman or Docker, through their CLI): drain records the running
// containers (id, name, image) and stops them cleanly; undrain starts exactly that set
// and holds each to running through a settle period, so a container that exits or keeps
// restarting on the new system is named, not taken for back.
import type { ContainersHook } from './workload-config.ts';
import { mustRunWorkload, type RestoreResult, type WorkloadDriver, type WorkloadEnv } from './workload-driver.ts';

export interface ContainerRef {
  id: string;
  name: string;
  image: string;
}

export interface ContainersRecord {
  runtime: string[];
  containers: ContainerRef[];
}

/** One container's state as `inspect` tells it (the fields Podman and Docker share). */
export interface ContainerState {
  id: string;
  name: string;
  image: string;
  running: boolean;
  status: string;
  exitCode: number;
  startedAt: string;
  restartCount: number;
}

interface InspectJson {
  Id?: string;
  Name?: string;
  Image?: string;
  ImageName?: string;
  Config?: { Image?: string };
  State?: { Running?: boolean; Status?: string; ExitCode?: number; StartedAt?: string; Restarting?: boolean };
  RestartCount?: number;
}

/** Parses `inspect` output (a JSON array) of either runtime. Pure. */
export function parseInspect(stdout: string): ContainerState[] {
  const items = JSON.parse(stdout) as InspectJson[];
  return items.map((c) => ({
    id: c.Id ?? '',
    // Docker names start with a slash; Podman's do not.
    name: (c.Name ?? '').replace(/^\//, ''),
    image: c.Config?.Image ?? c.ImageName ?? c.Image ?? '',
    running: c.State?.Running === true && c.State?.Restarting !== true,
    status: c.State?.Status ?? '',
    exitCode: c.State?.ExitCode ?? 0,
    startedAt: c.State?.StartedAt ?? '',
    restartCount: c.RestartCount ?? 0,
  }));
}

/** The `ps` filters that select the containers a hook drains. Pure. */
export function psArgs(hook: ContainersHook): string[] {
  const labels = Object.entries(hook.labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]);
  return ['ps', '-q', '--no-trunc', '--filter', 'status=running', ...labels];
}

/**
 * Which restarted containers did not stay up through the settle period: `started` is each
 * one's state right after `start`, `settled` after the period (absent: it is gone). A
 * container counts as back only if it still runs and neither restarted nor was started
 * anew since. Pure.
 */
export function settleProblems(
  records: readonly ContainerRef[],
  started: Map<string, ContainerState>,
  settled: Map<string, ContainerState>,
): Map<string, string> {
  const problems = new Map<string, string>();
  for (const c of records) {
    const a = started.get(c.id);
    const b = settled.get(c.id);
    const label = `container ${c.name} (${c.id.slice(0, 12)}, ${c.image})`;
    if (!a || !b) problems.set(c.id, `${label} no longer exists`);
    else if (!b.running) problems.set(c.id, `${label} is ${b.status || 'not running'} (exit code ${b.exitCode}) after its restart`);
    else if (b.restartCount > a.restartCount || b.startedAt !== a.startedAt)
      problems.set(c.id, `${label} keeps restarting (${b.restartCount - a.restartCount} restarts in the settle period)`);
  }
  return problems;
}

async function inspectOne(env: WorkloadEnv, runtime: string[], id: string): Promise<ContainerState | undefined> {
  const r = await env.port.run([...runtime, 'inspect', id], { signal: env.signal });
  if (r.code !== 0) return undefined;
  return parseInspect(r.stdout)[0];
}

async function inspectAll(env: WorkloadEnv, runtime: string[], refs: readonly ContainerRef[]): Promise<Map<string, ContainerState>> {
  const out = new Map<string, ContainerState>();
  for (const c of refs) {
    const s = await inspectOne(env, runtime, c.id);
    if (s) out.set(c.id, s);
  }
  return out;
}

export const containersDriver: WorkloadDriver<ContainersHook, ContainersRecord> = {
  role: 'containers',

  async drain(env, hook, save, previous) {
    let rec = previous;
    if (!rec) {
      const ids = (await mustRunWorkload(env, [...hook.runtime, ...psArgs(hook)])).stdout.split('\n').filter(Boolean);
      const states = ids.length > 0 ? parseInspect((await mustRunWorkload(env, [...hook.runtime, 'inspect', ...ids])).stdout) : [];
      rec = { runtime: hook.runtime, containers: states.map(({ id, name, image }) => ({ id, name, image })) };
      // Saved before anything stops: an agent killed in the middle still knows the set.
      await save(rec);
    }
    env.log(`containers: stopping ${rec.containers.length}: ${rec.containers.map((c) => c.name).join(', ') || '(none)'}`, 'agent');
    for (const c of rec.containers) {
      // `stop` on a stopped container succeeds: a repeated drain is harmless.
      await mustRunWorkload(env, [...rec.runtime, 'stop', '-t', String(hook.stopTimeoutSeconds), c.id]);
    }
    return rec;
  },

  async undrain(env, hook, rec): Promise<RestoreResult> {
    const startProblems: string[] = [];
    const startedOk: ContainerRef[] = [];
    for (const c of rec.containers) {
      // `start` on a running container succeeds: undrain after undrain is harmless.
      const r = await env.port.run([...rec.runtime, 'start', c.id], { signal: env.signal });
      if (r.code === 0) startedOk.push(c);
      else
        startProblems.push(`container ${c.name} (${c.id.slice(0, 12)}) did not start: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`);
    }
    const started = await inspectAll(env, rec.runtime, startedOk);
    if (startedOk.length > 0 && hook.settleSeconds > 0) {
      env.log(`containers: ${startedOk.length} started; checking they stay up for ${hook.settleSeconds} s`, 'agent');
      await env.sleep(hook.settleSeconds * 1000);
    }
    const settled = await inspectAll(env, rec.runtime, startedOk);
    const unsettled = settleProblems(startedOk, started, settled);
    return {
      restored: startedOk.filter((c) => !unsettled.has(c.id)).map((c) => c.name),
      problems: [...startProblems, ...unsettled.values()],
    };
  },

  async check(env, _hook, rec) {
    const now = await inspectAll(env, rec.runtime, rec.containers);
    return rec.containers
      .filter((c) => !now.get(c.id)?.running)
      .map(
        (c) =>
          `container ${c.name} (${c.id.slice(0, 12)}, ${c.image}) ${now.has(c.id) ? `is ${now.get(c.id)?.status}` : 'no longer exists'}`,
      );
  },
};
