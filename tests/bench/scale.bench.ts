// The scale benchmark (issue 18), not a test: `registered` simulated hosts registered, one
// plan migrating `hosts` of them on the embedded default (nats-server and FerretDB as local
// processes), the scheduler and the fleets as real processes. Hosts are of uneven sizes
// (lognormal) in uneven clusters, their durations scaled down from real ones
// (scale-workload.ts). One run reports:
//
// - makespan ÷ the zero-overhead replay of the same policy on the same durations (the
//   control plane's overhead) and ÷ the lower bound max(Σd ÷ C, max d) (scheduling quality),
//   with what a batch barrier (Ansible `serial`) and an exponential ramp (SSM) would take;
// - the scheduler's CPU and peak RSS, the fleet's CPU per 10,000 hosts, nats-server's and
//   the store's CPU, database commands and NATS messages per second;
// - dispatch latency (the decision to the agent's word that the step started) and event
//   latency (an agent's step event to its effect stored, readable through the API), p50/p99.
//
//   npm run bench:scale -- --hosts 100000 --registered 300000
//   npm run bench:scale -- --hosts 10000 --registered 30000 --max-in-flight 500 --median-seconds 30
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  batchBarrierSeconds,
  exponentialRampSeconds,
  gatedLowerBoundSeconds,
  lowerBoundSeconds,
  replayPlan,
  replaySchedule,
} from '@yixing/scheduler/internal';
import { clusterPids, DEFAULT_STORE } from '../../infra/dev/postgresql.ts';
import { bearer, writeTestTokensFile } from '../fixtures/api-access.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { api } from '../fixtures/stack.ts';
import { parseStoreBackend, type StoreBackend, startEmbeddedServers } from './embedded-servers.ts';
import { clockTicksPerSecond, sampleProcess } from './proc-sample.ts';
import { buckets, bucketsBetween, parseSamples, quantile, type Sample, shareAtMost, total } from './prom-text.ts';
import { machineTicks } from './rehearsal.ts';
import { writeBenchResult } from './results.ts';
import {
  defaultScaleOptions,
  FLEET_LAYOUT,
  fleetSplits,
  replayHosts,
  type ScaleOptions,
  type SlotSpan,
  scalePlan,
  simConfig,
  slotHoldSeconds,
} from './scale-workload.ts';

function options(): ScaleOptions & { label: string; result: string; store: StoreBackend; schedulerNodeOptions: string } {
  const d = defaultScaleOptions;
  const { values: v } = parseArgs({
    options: {
      hosts: { type: 'string', default: String(d.hosts) },
      registered: { type: 'string', default: String(d.registered) },
      'per-fleet': { type: 'string', default: String(d.perFleet) },
      clusters: { type: 'string', default: String(d.clusters) },
      'max-in-flight': { type: 'string', default: String(d.maxInFlight) },
      'per-cluster': { type: 'string', default: String(d.perCluster) },
      canary: { type: 'string', default: String(d.canary) },
      'median-seconds': { type: 'string', default: String(d.medianSeconds) },
      sigma: { type: 'string', default: String(d.sigma) },
      noise: { type: 'string', default: String(d.noise) },
      'heartbeat-ms': { type: 'string', default: String(d.heartbeatMs) },
      'progress-ms': { type: 'string', default: String(d.progressMs) },
      seed: { type: 'string', default: d.seed },
      label: { type: 'string', default: '' },
      // The figures' file: bench/results/RESULT.json (one per shape that BENCHMARKS.md quotes).
      result: { type: 'string', default: 'scale' },
      store: { type: 'string', default: DEFAULT_STORE },
      // NODE_OPTIONS for the scheduler alone, e.g. --cpu-prof to profile it.
      'scheduler-node-options': { type: 'string', default: '' },
    },
  });
  const num = (name: keyof typeof v, min: number): number => {
    const x = Number(v[name]);
    if (!Number.isFinite(x) || x < min) throw new Error(`--${name}: ${JSON.stringify(v[name])} is not a number ≥ ${min}`);
    return x;
  };
  const o = {
    hosts: num('hosts', 1),
    registered: num('registered', 1),
    perFleet: num('per-fleet', 1),
    clusters: num('clusters', 1),
    maxInFlight: num('max-in-flight', 1),
    perCluster: num('per-cluster', 1),
    canary: num('canary', 1),
    medianSeconds: num('median-seconds', 0.1),
    sigma: num('sigma', 0),
    noise: num('noise', 0),
    heartbeatMs: num('heartbeat-ms', 100),
    progressMs: num('progress-ms', 1),
    seed: String(v.seed),
    label: String(v.label),
    result: String(v.result),
    store: parseStoreBackend(String(v.store)),
    schedulerNodeOptions: String(v['scheduler-node-options']),
  };
  if (o.registered < o.hosts) throw new Error(`--registered ${o.registered} is below --hosts ${o.hosts}`);
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(o.result))
    throw new Error(`--result: ${JSON.stringify(o.result)} is not a file name of a-z, 0-9 and -`);
  if (o.perFleet > 100_000) throw new Error('--per-fleet: a fleet process carries at most 100000 hosts');
  return o;
}

const round = (x: number | undefined, digits = 3): number | null => (x === undefined ? null : Number(x.toFixed(digits)));
const say = (line: string): void => void process.stderr.write(`${line}\n`);

async function metrics(apiUrl: string): Promise<Sample[]> {
  const res = await fetch(new URL('/metrics', apiUrl), { headers: bearer('admin') });
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  return parseSamples(await res.text());
}

/** Every run of the plan with its slots, a page at a time. */
async function planRunSlots(apiUrl: string, planId: string): Promise<{ slots: SlotSpan[] }[]> {
  const runs: { slots: SlotSpan[] }[] = [];
  let cursor: string | null = null;
  do {
    const page: { hosts: { slots: SlotSpan[] }[]; nextCursor: string | null } = await apiWithin(
      apiUrl,
      `/v1/plans/${planId}/hosts?limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      // Right after a large plan ends its compaction keeps the store busy: a page of 1,000
      // runs once took over 30 s at 10,000 hosts.
      120_000,
    );
    runs.push(...page.hosts);
    cursor = page.nextCursor;
  } while (cursor);
  return runs;
}

/** A GET that gives up after `ms` (undici's own limit is five minutes). */
async function apiWithin<T>(apiUrl: string, pathname: string, ms: number): Promise<T> {
  const res = await fetch(new URL(pathname, apiUrl), { headers: bearer('admin'), signal: AbortSignal.timeout(ms) });
  const json = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(`GET ${pathname}: ${res.status} ${json.error?.message}`);
  return json;
}

async function varz(monitorUrl: string): Promise<{ msgs: number; bytes: number }> {
  const v = (await (await fetch(new URL('/varz', monitorUrl))).json()) as Record<string, number>;
  return { msgs: (v.in_msgs ?? 0) + (v.out_msgs ?? 0), bytes: (v.in_bytes ?? 0) + (v.out_bytes ?? 0) };
}

async function cpuSeconds(pids: number[]): Promise<number> {
  const ticks = clockTicksPerSecond();
  const samples = await Promise.all(pids.map((pid) => sampleProcess(pid)));
  return samples.reduce((sum, s) => sum + (s?.cpuTicks ?? 0), 0) / ticks;
}

/** FerretDB's CPU, and PostgreSQL's: the postmaster, its backends now and those it reaped. */
async function storeCpuSeconds(pids: { ferretdb: number; postgres?: number }): Promise<number> {
  if (pids.postgres === undefined) return cpuSeconds([pids.ferretdb]);
  const reaped = ((await sampleProcess(pids.postgres))?.childCpuTicks ?? 0) / clockTicksPerSecond();
  return (await cpuSeconds([pids.ferretdb, ...(await clusterPids(pids.postgres))])) + reaped;
}

async function main(): Promise<void> {
  const o = options();
  const plan = scalePlan(o);
  const hosts = replayHosts(o);
  const seconds = hosts.map((h) => h.seconds);
  say(`replaying the policy on ${hosts.length} hosts`);
  const replay = replaySchedule(plan, hosts);
  const secondsOf = new Map(hosts.map((h) => [h.hostId, h.seconds]));
  // The batch policies take hosts in the plan's order.
  const inOrder = replayPlan(plan, hosts).runs.map((r) => secondsOf.get(r.hostId) ?? 0);
  const yardsticks = {
    replayMakespanSeconds: round(replay.makespanSeconds, 1),
    lowerBoundSeconds: round(lowerBoundSeconds(seconds, o.maxInFlight), 1),
    gatedLowerBoundSeconds: round(gatedLowerBoundSeconds(plan, hosts), 1),
    batchBarrierSeconds: round(batchBarrierSeconds(inOrder, o.maxInFlight), 1),
    exponentialRampSeconds: round(exponentialRampSeconds(inOrder, o.maxInFlight), 1),
    totalHostSeconds: round(
      seconds.reduce((a, b) => a + b, 0),
      0,
    ),
    longestHostSeconds: round(Math.max(...seconds), 1),
  };
  say(JSON.stringify(yardsticks));

  const dir = await mkdtemp(path.join(tmpdir(), 'yx-scale-'));
  const servers = await startEmbeddedServers(dir, { store: o.store });
  const procs: ServiceProcess[] = [];
  let completed = false;
  // Stopped by a signal, the run stops what it started: an hour-long run is often cut short.
  const stopOnSignal = (signal: NodeJS.Signals): void => {
    say(`${signal}: stopping the run; logs kept in ${dir}`);
    void (async () => {
      for (const p of [...procs].reverse()) await p.kill();
      await servers.stop();
    })().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    let apiUrl = '';
    const scheduler = await spawnService({
      name: 'scheduler',
      main: 'services/scheduler/src/main.ts',
      env: {
        YX_NATS_URL: servers.natsUrl,
        YX_MONGO_URI: servers.mongoUri('scale'),
        YX_API_PORT: '0',
        YX_API_TOKENS_FILE: await writeTestTokensFile(dir),
        YX_TICK_MS: '100',
        YX_HEARTBEAT_GRACE_MS: String(o.heartbeatMs * 3),
        ...(o.schedulerNodeOptions ? { NODE_OPTIONS: o.schedulerNodeOptions } : {}),
      },
      ready: /^yx-scheduler ready (\S+)/,
      logDir: dir,
      onReady: (m) => {
        apiUrl = m[1] as string;
      },
    });
    procs.push(scheduler);
    const t0 = performance.now();
    const planFleets: ServiceProcess[] = [];
    const idleFleets: ServiceProcess[] = [];
    for (const [i, f] of fleetSplits(o).entries()) {
      const fleet = await spawnService({
        name: `fleet-${i}`,
        main: 'services/host-agent/src/main.ts',
        env: {
          YX_NATS_URL: servers.natsUrl,
          YX_FLEET_SIZE: String(f.size),
          YX_FLEET_OFFSET: String(f.offset),
          YX_FLEET_CLUSTERS: String(o.clusters),
          YX_FLEET_ZONES: String(FLEET_LAYOUT.zones),
          YX_FLEET_RACKS: String(FLEET_LAYOUT.racksPerZone),
          YX_FLEET_POOL: f.pool,
          YX_FLEET_PREFIX: f.prefix,
          YX_STATE_DIR: path.join(dir, 'agents'),
          YX_HEARTBEAT_MS: String(o.heartbeatMs),
          YX_SIM_CONFIG: simConfig(o, f.pool),
        },
        ready: /^yx-agent fleet ready/,
        logDir: dir,
      });
      (f.pool === plan.selector.pool ? planFleets : idleFleets).push(fleet);
      procs.push(fleet);
      say(`fleet ${i} (${f.pool}, ${f.size} hosts) started at ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    for (;;) {
      const { total: n } = await api<{ total: number }>(apiUrl, 'GET', '/v1/hosts?limit=1');
      process.stderr.write(`\r${n} of ${o.registered} registered   `);
      if (n >= o.registered) break;
      await sleep(2_000);
    }
    const registerSeconds = (performance.now() - t0) / 1000;
    say(`\nall registered in ${registerSeconds.toFixed(0)} s`);

    const pidsOf = (ps: ServiceProcess[]): number[] => ps.map((p) => p.child.pid as number);
    const cpuNow = async () => ({
      scheduler: await cpuSeconds([scheduler.child.pid as number]),
      planFleets: await cpuSeconds(pidsOf(planFleets)),
      idleFleets: await cpuSeconds(pidsOf(idleFleets)),
      nats: await cpuSeconds([servers.pids.nats]),
      store: await storeCpuSeconds(servers.pids),
      machine: await machineTicks(),
    });
    const [m0, v0, c0] = [await metrics(apiUrl), await varz(servers.natsMonitorUrl), await cpuNow()];
    const created = await api<{ id: string }>(apiUrl, 'POST', '/v1/plans', plan);
    const started = performance.now();
    let last = '';
    let lastAt = 0;
    // Hosts done every 10 s of the plan: a stall or a burst shows in it.
    const timeline: { atSeconds: number; done: number }[] = [];
    for (;;) {
      type Progress = { state: string; counters: { inFlight: number; succeeded: number; failed: number; excluded: number } };
      let p: Progress;
      try {
        p = await apiWithin<Progress>(apiUrl, `/v1/plans/${created.id}`, 30_000);
      } catch (err) {
        say(`\nplan read failed, reading again: ${(err as Error).message}`);
        await sleep(1_000);
        continue;
      }
      const t = (performance.now() - started) / 1000;
      const c = p.counters;
      const final = c.succeeded + c.failed + c.excluded;
      if (t >= timeline.length * 10) timeline.push({ atSeconds: Math.round(t), done: final });
      const line = `${o.label}${p.state} ${c.succeeded} done, ${c.failed} failed, ${c.inFlight} in flight`;
      if (line !== last || t - lastAt > 30) {
        process.stderr.write(`\r${t.toFixed(0)} s ${line}   `);
        last = line;
        lastAt = t;
      }
      if (p.state === 'failed' || p.state === 'aborted') throw new Error(`the plan ended ${p.state}: ${line}`);
      // The last outcome applied is the end: the plan's compaction after it is not the migration's.
      if (final >= o.hosts) break;
      await sleep(1_000);
    }
    const makespan = (performance.now() - started) / 1000;
    say('');
    const [m1, v1, c1] = [await metrics(apiUrl), await varz(servers.natsMonitorUrl), await cpuNow()];
    const hwm = (await sampleProcess(scheduler.child.pid as number))?.hwmKiB ?? 0;
    // Read after the CPU and metrics (the paging is not the run's); a read that fails
    // costs its own figures, not the run's.
    const held = await planRunSlots(apiUrl, created.id).then(slotHoldSeconds, (err: Error) => {
      say(`the runs' slots could not be read: ${err.message}`);
      return { seconds: Number.NaN, open: Number.NaN };
    });
    const slept = yardsticks.totalHostSeconds as number;

    const dispatch = bucketsBetween(buckets(m0, 'yx_scheduler_dispatch_seconds'), buckets(m1, 'yx_scheduler_dispatch_seconds'));
    const eventLag = bucketsBetween(buckets(m0, 'yx_scheduler_event_lag_seconds'), buckets(m1, 'yx_scheduler_event_lag_seconds'));
    const dbCommands = total(m1, 'yx_db_command_seconds_count') - total(m0, 'yx_db_command_seconds_count');
    const per10k = (cpu: number, n: number): number | null => (n > 0 ? round((cpu / n) * 10_000, 1) : null);
    const idleHosts = o.registered - o.hosts;
    const figures = {
      options: o,
      registerSeconds: round(registerSeconds, 1),
      makespanSeconds: round(makespan, 1),
      ...yardsticks,
      overhead: round(makespan / replay.makespanSeconds),
      // Σ slot held ÷ Σ slept: what the control plane adds to a host, whatever the order.
      slotHoldOverSlept: round(held.seconds / slept),
      slotOverheadSecondsPerHost: round((held.seconds - slept) / o.hosts, 2),
      slotsNeverReleased: held.open,
      overLowerBound: round(makespan / (yardsticks.lowerBoundSeconds as number)),
      overGatedLowerBound: round(makespan / (yardsticks.gatedLowerBoundSeconds as number)),
      replayOverLowerBound: round(replay.makespanSeconds / (yardsticks.lowerBoundSeconds as number)),
      batchBarrierOverLowerBound: round((yardsticks.batchBarrierSeconds as number) / (yardsticks.lowerBoundSeconds as number)),
      exponentialRampOverLowerBound: round((yardsticks.exponentialRampSeconds as number) / (yardsticks.lowerBoundSeconds as number)),
      schedulerCpuSeconds: round(c1.scheduler - c0.scheduler, 1),
      schedulerCpuMsPerHost: round(((c1.scheduler - c0.scheduler) / o.hosts) * 1000, 2),
      schedulerPeakRssMiB: Math.round(hwm / 1024),
      planFleetCpuSecondsPer10kHosts: per10k(c1.planFleets - c0.planFleets, o.hosts),
      idleFleetCpuSecondsPer10kHostsPerMinute: per10k(((c1.idleFleets - c0.idleFleets) * 60) / makespan, idleHosts),
      natsCpuSeconds: round(c1.nats - c0.nats, 1),
      storeCpuSeconds: round(c1.store - c0.store, 1),
      machineBusyCores: round((c1.machine.busy - c0.machine.busy) / clockTicksPerSecond() / makespan, 2),
      machineStealCores: round((c1.machine.steal - c0.machine.steal) / clockTicksPerSecond() / makespan, 2),
      dbCommandsPerSecond: round(dbCommands / makespan, 0),
      dbCommandsPerHost: round(dbCommands / o.hosts, 1),
      natsMessagesPerSecond: round((v1.msgs - v0.msgs) / makespan, 0),
      natsMiBPerSecond: round((v1.bytes - v0.bytes) / makespan / 2 ** 20, 2),
      dispatchP50Ms: round((quantile(dispatch, 0.5) ?? Number.NaN) * 1000, 1),
      dispatchP99Ms: round((quantile(dispatch, 0.99) ?? Number.NaN) * 1000, 1),
      dispatchShareWithin100Ms: round(shareAtMost(dispatch, 0.1)),
      eventToApiP50Ms: round((quantile(eventLag, 0.5) ?? Number.NaN) * 1000, 1),
      eventToApiP99Ms: round((quantile(eventLag, 0.99) ?? Number.NaN) * 1000, 1),
      timeline,
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    say(`written to ${await writeBenchResult(o.result, figures)}`);
    completed = true;
  } finally {
    for (const p of procs.reverse()) await p.kill();
    await servers.stop();
    // A failed run keeps its processes' logs: at this size a failure rarely repeats cheaply.
    if (completed) await rm(dir, { recursive: true, force: true });
    else say(`logs kept in ${dir}`);
  }
}

main().catch((err: Error) => {
  say(`bench: ${err.stack ?? err.message}`);
  process.exit(1);
});
