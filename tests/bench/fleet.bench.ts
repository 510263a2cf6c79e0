// Fleet rehearsal benchmark (not a test): N simulated hosts migrated by one plan, on the
// embedded default (nats-server and FerretDB as local processes). Prints the makespan
// against the ideal (the lower bound given the plan's limits and the simulated step
// durations), and the scheduler's CPU seconds and peak RSS.
//
//   npm run bench -- --hosts 10000
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { bearer, writeTestTokensFile } from '../fixtures/api-access.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { startEmbeddedServers } from './embedded-servers.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '10000' },
    fleets: { type: 'string', default: '4' },
    clusters: { type: 'string', default: '100' },
    'max-in-flight': { type: 'string', default: '500' },
    'per-cluster': { type: 'string', default: '5' },
    canary: { type: 'string', default: '20' },
    'step-ms': { type: 'string', default: '50,200,300,2000,500,200' },
    'heartbeat-ms': { type: 'string', default: '5000' },
  },
});
const N = Number(values.hosts);
const FLEETS = Number(values.fleets);
const CLUSTERS = Number(values.clusters);
const MAX_IN_FLIGHT = Number(values['max-in-flight']);
const PER_CLUSTER = Number(values['per-cluster']);
const CANARY = Number(values.canary);
const STEPS = ['cluster-check', 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'];
const STEP_MS = (values['step-ms'] as string).split(',').map(Number);

const CLK_TCK = 100;
async function cpuSeconds(pid: number): Promise<number> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(stat[11]) + Number(stat[12])) / CLK_TCK;
}
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function api<T>(base: string, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(new URL(p, base), {
    method,
    headers: { ...bearer('admin'), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(`${method} ${p}: ${json.error?.message}`);
  return json;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-bench-'));
  const servers = await startEmbeddedServers(dir);
  const natsUrl = servers.natsUrl;
  const procs: ServiceProcess[] = [];
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
        YX_HEARTBEAT_GRACE_MS: String(Number(values['heartbeat-ms']) * 6),
      },
      ready: /^yx-scheduler ready (\S+)/,
      logDir: dir,
      onReady: (m) => {
        apiUrl = m[1] as string;
      },
    });
    procs.push(scheduler);
    const durations = Object.fromEntries(STEPS.map((s, i) => [s, STEP_MS[i]]));
    const per = Math.ceil(N / FLEETS);
    const t0 = performance.now();
    for (let f = 0; f < FLEETS; f++) {
      procs.push(
        await spawnService({
          name: `fleet-${f}`,
          main: 'services/host-agent/src/main.ts',
          env: {
            YX_NATS_URL: natsUrl,
            YX_FLEET_SIZE: String(Math.min(per, N - f * per)),
            YX_FLEET_OFFSET: String(f * per),
            YX_FLEET_CLUSTERS: String(CLUSTERS),
            YX_FLEET_POOL: 'bench',
            YX_FLEET_PREFIX: 'b',
            YX_STATE_DIR: path.join(dir, 'agents'),
            YX_HEARTBEAT_MS: values['heartbeat-ms'] as string,
            YX_SIM_CONFIG: JSON.stringify({ seed: 'bench', durations, tickMs: 1000 }),
          },
          ready: /^yx-agent fleet ready/,
          logDir: dir,
        }),
      );
    }
    for (;;) {
      const { total } = await api<{ total: number }>(apiUrl, 'GET', '/v1/hosts?limit=1');
      if (total >= N) break;
      await sleep(500);
    }
    const registerSeconds = (performance.now() - t0) / 1000;
    const cpuBefore = await cpuSeconds(scheduler.child.pid as number);

    const plan = await api<{ id: string; phases: { size: number }[] }>(apiUrl, 'POST', '/v1/plans', {
      name: 'bench',
      selector: { pool: 'bench' },
      profile: 'centos-7-to-openeuler-22.03',
      canary: { count: CANARY },
      promotion: { mode: 'auto', soakSeconds: 0 },
      waves: [{ percent: 10 }, { percent: 30 }, { percent: 60 }],
      limits: { maxInFlight: MAX_IN_FLIGHT, perCluster: { count: PER_CLUSTER } },
      errorBudget: { plan: { count: N } },
    });
    const started = performance.now();
    let last = '';
    for (;;) {
      const p = await api<{ state: string; percentDone: number; counters: { inFlight: number } }>(apiUrl, 'GET', `/v1/plans/${plan.id}`);
      const line = `${p.state} ${p.percentDone}% in flight ${p.counters.inFlight}`;
      if (line !== last) process.stderr.write(`\r${((performance.now() - started) / 1000).toFixed(0)}s ${line}   `);
      last = line;
      if (p.state === 'completed') break;
      await sleep(500);
    }
    const makespan = (performance.now() - started) / 1000;
    const cpu = (await cpuSeconds(scheduler.child.pid as number)) - cpuBefore;
    const rss = await peakRssMiB(scheduler.child.pid as number);

    // The lower bound: the canary runs alone (its hosts at once), then the rest at the
    // tightest concurrency the limits allow, each host taking the sum of its steps.
    const perHost = STEP_MS.reduce((a, b) => a + b, 0) / 1000;
    const concurrency = Math.min(MAX_IN_FLIGHT, PER_CLUSTER * CLUSTERS, N);
    const ideal = perHost * (Math.ceil(CANARY / concurrency) + Math.ceil((N - CANARY) / concurrency));
    process.stderr.write('\n');
    const result = {
      hosts: N,
      fleets: FLEETS,
      clusters: CLUSTERS,
      maxInFlight: MAX_IN_FLIGHT,
      perCluster: PER_CLUSTER,
      perHostSeconds: perHost,
      registerSeconds: Number(registerSeconds.toFixed(1)),
      makespanSeconds: Number(makespan.toFixed(1)),
      idealSeconds: Number(ideal.toFixed(1)),
      makespanOverIdeal: Number((makespan / ideal).toFixed(2)),
      schedulerCpuSeconds: Number(cpu.toFixed(1)),
      schedulerPeakRssMiB: Number(rss.toFixed(0)),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    await writeBenchResult('fleet', result);
  } finally {
    for (const p of procs) await p.kill();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
