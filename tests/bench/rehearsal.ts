// One fleet rehearsal for benchmarks: N simulated hosts migrated by one plan on the
// embedded default (nats-server and FerretDB as local processes, fresh for each run), the
// scheduler and the fleets as real processes. Measures the makespan and the scheduler's
// CPU and peak RSS; the fleet bench reports them against the ideal, the tracing bench runs
// it with and without OTLP export.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeTestTokensFile } from '../fixtures/api-access.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { api } from '../fixtures/stack.ts';
import { startEmbeddedServers } from './embedded-servers.ts';
import { clockTicksPerSecond, type ProcSample, sampleProcess } from './proc-sample.ts';

export const REHEARSAL_STEPS = ['cluster-check', 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'] as const;

export interface RehearsalOptions {
  hosts: number;
  fleets: number;
  clusters: number;
  maxInFlight: number;
  perCluster: number;
  canary: number;
  /** Each simulated step's duration, ms, in REHEARSAL_STEPS order. */
  stepMs: number[];
  heartbeatMs: number;
  /** More environment for every service of the rehearsal (the scheduler and the fleets). */
  env?: Record<string, string>;
  /** More environment for the scheduler alone (NODE_OPTIONS=--cpu-prof to profile it). */
  schedulerEnv?: Record<string, string>;
  /** More environment for the fleet processes alone. */
  fleetEnv?: Record<string, string>;
  /**
   * Seconds to watch the scheduler with every host registered and no plan before the plan
   * starts: its CPU then (heartbeats, ticks) is what it spends whatever the plan does.
   */
  idleSeconds?: number;
  /** Prefix of the progress line on stderr. */
  label?: string;
}

export interface RehearsalFigures {
  registerSeconds: number;
  makespanSeconds: number;
  /** The scheduler's CPU from the plan's creation to its completion. */
  schedulerCpuSeconds: number;
  schedulerPeakRssMiB: number;
  /** All fleet processes' CPU over the same window. */
  fleetCpuSeconds: number;
  /** The scheduler's CPU seconds per second over the idle window (0 without one). */
  schedulerIdleCpuPerSecond: number;
  /**
   * Cores the whole machine kept busy on average over the plan (every process: the
   * rehearsal's and anyone else's), and cores the hypervisor took away (steal): how
   * loaded the shared machine was while this run was measured.
   */
  machineBusyCores: number;
  machineStealCores: number;
}

/** The machine's busy and stolen clock ticks so far, from the first line of /proc/stat. */
export async function machineTicks(): Promise<{ busy: number; steal: number; all: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
  return { busy, steal: steal ?? 0, all: busy + (idle ?? 0) + (iowait ?? 0) + (steal ?? 0) };
}

/** The rehearsal's options from the command line's strings (the names both benches take). */
export function rehearsalOptions(v: Record<string, string | boolean | undefined>): RehearsalOptions {
  const n = (name: string): number => {
    const x = Number(v[name]);
    if (!Number.isInteger(x) || x <= 0) throw new Error(`--${name}: ${JSON.stringify(v[name])} is not a whole number > 0`);
    return x;
  };
  const stepMs = String(v['step-ms']).split(',').map(Number);
  if (stepMs.length !== REHEARSAL_STEPS.length || stepMs.some((x) => !(x >= 0)))
    throw new Error(`--step-ms: ${JSON.stringify(v['step-ms'])} is not ${REHEARSAL_STEPS.length} durations (${REHEARSAL_STEPS.join(',')})`);
  return {
    hosts: n('hosts'),
    fleets: n('fleets'),
    clusters: n('clusters'),
    maxInFlight: n('max-in-flight'),
    perCluster: n('per-cluster'),
    canary: n('canary'),
    stepMs,
    heartbeatMs: n('heartbeat-ms'),
  };
}

/** The parseArgs options of a rehearsal, with the fleet bench's defaults unless given. */
export function rehearsalArgs(defaults: Partial<Record<string, string>> = {}) {
  const opt = (name: string, fallback: string) => ({ type: 'string' as const, default: defaults[name] ?? fallback });
  return {
    hosts: opt('hosts', '10000'),
    fleets: opt('fleets', '4'),
    clusters: opt('clusters', '100'),
    'max-in-flight': opt('max-in-flight', '500'),
    'per-cluster': opt('per-cluster', '5'),
    canary: opt('canary', '20'),
    'step-ms': opt('step-ms', '50,200,300,2000,500,200'),
    'heartbeat-ms': opt('heartbeat-ms', '5000'),
  };
}

/** The rehearsal's shape, as a bench's figures name it. */
export function rehearsalShape(o: RehearsalOptions) {
  return { hosts: o.hosts, fleets: o.fleets, clusters: o.clusters, maxInFlight: o.maxInFlight, perCluster: o.perCluster };
}

/**
 * The lower bound: the canary runs alone (its hosts at once), then the rest at the
 * tightest concurrency the limits allow, each host taking the sum of its steps.
 */
export function idealSeconds(o: RehearsalOptions): { perHost: number; ideal: number } {
  const perHost = o.stepMs.reduce((a, b) => a + b, 0) / 1000;
  const concurrency = Math.min(o.maxInFlight, o.perCluster * o.clusters, o.hosts);
  return { perHost, ideal: perHost * (Math.ceil(o.canary / concurrency) + Math.ceil((o.hosts - o.canary) / concurrency)) };
}

const cpuTicksOf = async (procs: ServiceProcess[]): Promise<number> => {
  const samples = await Promise.all(procs.map((p) => sampleProcess(p.child.pid as number)));
  return samples.reduce((sum, s) => sum + (s as ProcSample).cpuTicks, 0);
};

export async function runRehearsal(o: RehearsalOptions): Promise<RehearsalFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-bench-'));
  const servers = await startEmbeddedServers(dir);
  const natsUrl = servers.natsUrl;
  const procs: ServiceProcess[] = [];
  const ticks = clockTicksPerSecond();
  try {
    let apiUrl = '';
    const scheduler = await spawnService({
      name: 'scheduler',
      main: 'services/scheduler/src/main.ts',
      env: {
        YX_NATS_URL: natsUrl,
        YX_MONGO_URI: servers.mongoUri('bench'),
        YX_API_PORT: '0',
        YX_API_TOKENS_FILE: await writeTestTokensFile(dir),
        YX_TICK_MS: '100',
        YX_HEARTBEAT_GRACE_MS: String(o.heartbeatMs * 6),
        ...o.env,
        ...o.schedulerEnv,
      },
      ready: /^yx-scheduler ready (\S+)/,
      logDir: dir,
      onReady: (m) => {
        apiUrl = m[1] as string;
      },
    });
    procs.push(scheduler);
    const durations = Object.fromEntries(REHEARSAL_STEPS.map((s, i) => [s, o.stepMs[i]]));
    const per = Math.ceil(o.hosts / o.fleets);
    const t0 = performance.now();
    const fleets: ServiceProcess[] = [];
    for (let f = 0; f < o.fleets; f++) {
      fleets.push(
        await spawnService({
          name: `fleet-${f}`,
          main: 'services/host-agent/src/main.ts',
          env: {
            YX_NATS_URL: natsUrl,
            YX_FLEET_SIZE: String(Math.min(per, o.hosts - f * per)),
            YX_FLEET_OFFSET: String(f * per),
            YX_FLEET_CLUSTERS: String(o.clusters),
            YX_FLEET_POOL: 'bench',
            YX_FLEET_PREFIX: 'b',
            YX_STATE_DIR: path.join(dir, 'agents'),
            YX_HEARTBEAT_MS: String(o.heartbeatMs),
            YX_SIM_CONFIG: JSON.stringify({ seed: 'bench', durations, tickMs: 1000 }),
            ...o.env,
            ...o.fleetEnv,
          },
          ready: /^yx-agent fleet ready/,
          logDir: dir,
        }),
      );
    }
    procs.push(...fleets);
    for (;;) {
      const { total } = await api<{ total: number }>(apiUrl, 'GET', '/v1/hosts?limit=1');
      if (total >= o.hosts) break;
      await sleep(500);
    }
    const registerSeconds = (performance.now() - t0) / 1000;
    let idleCpuPerSecond = 0;
    if (o.idleSeconds) {
      const before = await cpuTicksOf([scheduler]);
      await sleep(o.idleSeconds * 1000);
      idleCpuPerSecond = ((await cpuTicksOf([scheduler])) - before) / ticks / o.idleSeconds;
    }
    const [schedulerBefore, fleetsBefore, machineBefore] = [await cpuTicksOf([scheduler]), await cpuTicksOf(fleets), await machineTicks()];

    const plan = await api<{ id: string }>(apiUrl, 'POST', '/v1/plans', {
      name: 'bench',
      selector: { pool: 'bench' },
      profile: 'centos-7-to-openeuler-22.03',
      canary: { count: o.canary },
      promotion: { mode: 'auto', soakSeconds: 0 },
      waves: [{ percent: 10 }, { percent: 30 }, { percent: 60 }],
      limits: { maxInFlight: o.maxInFlight, perCluster: { count: o.perCluster } },
      errorBudget: { plan: { count: o.hosts } },
    });
    const started = performance.now();
    let last = '';
    for (;;) {
      const p = await api<{ state: string; percentDone: number; counters: { inFlight: number } }>(apiUrl, 'GET', `/v1/plans/${plan.id}`);
      const line = `${o.label ?? ''}${p.state} ${p.percentDone}% in flight ${p.counters.inFlight}`;
      if (line !== last) process.stderr.write(`\r${((performance.now() - started) / 1000).toFixed(0)}s ${line}   `);
      last = line;
      if (p.state === 'completed') break;
      await sleep(500);
    }
    const makespan = (performance.now() - started) / 1000;
    const [schedulerAfter, fleetsAfter, machineAfter] = [await cpuTicksOf([scheduler]), await cpuTicksOf(fleets), await machineTicks()];
    const rss = (await sampleProcess(scheduler.child.pid as number))?.hwmKiB ?? 0;
    process.stderr.write('\n');
    return {
      registerSeconds: round(registerSeconds),
      makespanSeconds: round(makespan),
      schedulerCpuSeconds: round((schedulerAfter - schedulerBefore) / ticks, 2),
      schedulerPeakRssMiB: Math.round(rss / 1024),
      fleetCpuSeconds: round((fleetsAfter - fleetsBefore) / ticks, 2),
      schedulerIdleCpuPerSecond: round(idleCpuPerSecond, 3),
      // /proc/stat sums every core's ticks: its seconds over the makespan are cores.
      machineBusyCores: round((machineAfter.busy - machineBefore.busy) / ticks / makespan, 2),
      machineStealCores: round((machineAfter.steal - machineBefore.steal) / ticks / makespan, 2),
    };
  } finally {
    // SIGTERM: each service's stop path exports the spans it still holds.
    for (const p of procs) await p.kill();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
