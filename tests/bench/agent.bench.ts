// The agent as one executable (not a test): the compiled x86_64 executable that ships
// (`npm run build:agent`) against the checkout's Node entry point, for the same source.
// Size; start time of `yx-agent version`; an idle host-mode agent on the bus (RSS, CPU per
// hour with its heartbeats); and the agent process's peak RSS during a Debian 11 → 12
// migration of a real root, packages from the loopback mirror. Times are ratios within
// one run: the machine is shared.
//
//   npm run build:agent && npm run bench:agent [-- --starts 15 --idle-seconds 90 --migrations 2]
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Bus, ConfigError, connectBus, createLogger, createRegistry, YxError } from '@yixing/common';
import { readAgentBuild } from '../../infra/agent/build.ts';
import { ensureDebianMirror, ensureDebianRoot } from '../../infra/dev/os-roots.ts';
import { freshDebianRoot, runToEnd, type TestRoot } from '../fixtures/os-root.ts';
import { spawnService } from '../fixtures/processes.ts';
import { serveDirectory } from '../fixtures/static-server.ts';
import { agentCommand, agentExecutable, nodeEntryCommand } from '../fixtures/yx-agent.ts';
import { startEmbeddedServers } from './embedded-servers.ts';
import { clockTicksPerSecond, cpuSecondsPerHour, median, type ProcSample, sampleProcess } from './proc-sample.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({
  options: {
    starts: { type: 'string', default: '15' },
    'idle-seconds': { type: 'string', default: '90' },
    migrations: { type: 'string', default: '2' },
  },
});
const count = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name} ${v}: expected a whole number, at least ${min}`);
  return n;
};
const STARTS = count('starts', values.starts, 1);
const IDLE_SECONDS = count('idle-seconds', values['idle-seconds'], 10);
const MIGRATIONS = count('migrations', values.migrations, 1);
// The shipped default (YX_HEARTBEAT_MS), so the idle cost is what a host pays.
const HEARTBEAT_MS = 5_000;
// Start-up work (profiles, the first registration) is over before the window opens.
const SETTLE_MS = 5_000;
const TICKS = clockTicksPerSecond();

/** An agent run that did not do what the benchmark measures: its figures would mean nothing. */
class AgentRunError extends YxError {
  readonly code = 'BENCH_AGENT_RUN_FAILED';
  readonly retryable = false;
}

type RuntimeName = 'compiled' | 'node';
interface Runtime {
  name: RuntimeName;
  command: string[];
}

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (t0: number): number => (performance.now() - t0) / 1000;
const mib = (kib: number): number => Number((kib / 1024).toFixed(1));
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Wall time of `yx-agent version`, both runtimes in turn, alternating which goes first. */
async function startTimes(runtimes: Runtime[]): Promise<Record<RuntimeName, number[]>> {
  const out: Record<RuntimeName, number[]> = { compiled: [], node: [] };
  for (let i = 0; i < STARTS; i++) {
    for (const rt of i % 2 ? [...runtimes].reverse() : runtimes) {
      const t0 = performance.now();
      const r = await runToEnd([...rt.command, 'version']);
      if (r.code !== 0) throw new AgentRunError(`${rt.name}: yx-agent version exited with ${r.code}: ${r.stderr}`);
      out[rt.name].push(seconds(t0));
    }
  }
  return out;
}

interface IdleFigures {
  readySeconds: number;
  rssMedianKiB: number;
  rssMaxKiB: number;
  cpuSecondsPerHour: number;
  heartbeats: number;
}

/** A host-mode agent on the bus, doing nothing but heartbeat, sampled once a second over the window. */
async function idleAgent(rt: Runtime, root: TestRoot, natsUrl: string, heartbeats: Map<string, number>): Promise<IdleFigures> {
  const hostId = `bench-${rt.name}`;
  const t0 = performance.now();
  const agent = await spawnService({
    name: `agent-${rt.name}`,
    command: rt.command,
    env: {
      YX_AGENT_MODE: 'host',
      YX_HOST_ID: hostId,
      YX_NATS_URL: natsUrl,
      YX_ROOT: root.root,
      YX_DRIVER: 'apt',
      YX_STATE_DIR: root.stateDir,
      YX_HEARTBEAT_MS: String(HEARTBEAT_MS),
      YX_LOG_LEVEL: 'info',
    },
    ready: new RegExp(`^yx-agent host ready ${hostId}`),
    logDir: root.dir,
  });
  const readySeconds = seconds(t0);
  try {
    await sleep(SETTLE_MS);
    const pid = agent.child.pid as number;
    const samples: ProcSample[] = [];
    const beatsBefore = heartbeats.get(hostId) ?? 0;
    const w0 = performance.now();
    for (let i = 0; i <= IDLE_SECONDS; i++) {
      const s = await sampleProcess(pid);
      if (!s) throw new AgentRunError(`${rt.name}: the idle agent exited; see ${agent.logFile}`);
      samples.push(s);
      if (i < IDLE_SECONDS) await sleep(Math.max(0, w0 + (i + 1) * 1000 - performance.now()));
    }
    const window = seconds(w0);
    const first = samples[0] as ProcSample;
    const last = samples.at(-1) as ProcSample;
    return {
      readySeconds,
      rssMedianKiB: median(samples.map((s) => s.rssKiB)),
      rssMaxKiB: Math.max(...samples.map((s) => s.rssKiB)),
      cpuSecondsPerHour: cpuSecondsPerHour(last.cpuTicks + last.childCpuTicks - first.cpuTicks - first.childCpuTicks, TICKS, window),
      heartbeats: (heartbeats.get(hostId) ?? 0) - beatsBefore,
    };
  } finally {
    await agent.kill();
  }
}

/** Both idle agents at once over the same window, answering their registration as the scheduler would. */
async function idle(runtimes: Runtime[]): Promise<Record<RuntimeName, IdleFigures>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-bench-agent-'));
  const servers = await startEmbeddedServers(dir);
  const nc = await connectBus({ servers: [servers.natsUrl], name: 'bench-control-plane' });
  const bus = new Bus({ nc, log: createLogger('bench', 'warn'), registry: createRegistry('bench', { processMetrics: false }) });
  const heartbeats = new Map<string, number>();
  bus.subscribe('agentRegistration', {}, (msg, d) => d.respond({ hostId: msg.hostId, accepted: true, reason: '' }));
  bus.subscribe('heartbeat', {}, (hb) => {
    heartbeats.set(hb.hostId, (heartbeats.get(hb.hostId) ?? 0) + 1);
  });
  const roots = await Promise.all(runtimes.map(() => freshDebianRoot()));
  try {
    const figures = await Promise.all(runtimes.map((rt, i) => idleAgent(rt, roots[i] as TestRoot, servers.natsUrl, heartbeats)));
    return Object.fromEntries(runtimes.map((rt, i) => [rt.name, figures[i]])) as Record<RuntimeName, IdleFigures>;
  } finally {
    await nc.drain();
    await servers.stop();
    for (const r of roots) await r.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

interface MigrationFigures {
  seconds: number;
  peakRssKiB: number;
  rssMedianKiB: number;
}

/**
 * `yx-agent migrate` on a fresh root, the agent process's VmHWM polled every 100 ms until
 * it exits (apt and dpkg are its children, with their own memory, not counted here).
 */
async function migration(rt: Runtime, mirrorUrl: string): Promise<MigrationFigures> {
  const root = await freshDebianRoot();
  try {
    // biome-ignore format: one option per line reads as the command line it is
    const args = ['migrate', '--profile', 'debian-11-to-12', '--root', root.root, '--state-dir', root.stateDir,
      '--mirror', `http://deb.debian.org=${mirrorUrl}`, '--trusted-mirrors', '--rollback', 'packages'];
    const log = await open(path.join(root.dir, `migrate-${rt.name}.log`), 'w');
    const [program, ...rest] = [...rt.command, ...args] as [string, ...string[]];
    const t0 = performance.now();
    const child = spawn(program, rest, { stdio: ['ignore', log.fd, log.fd], env: { ...process.env, YX_LOG_LEVEL: 'info' } });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ?? String(code)));
      child.once('error', (err) => resolve(err.message));
    });
    let done = false;
    void exited.then(() => {
      done = true;
    });
    const rss: number[] = [];
    let peak = 0;
    while (!done) {
      const s = await sampleProcess(child.pid as number);
      if (s) {
        rss.push(s.rssKiB);
        peak = Math.max(peak, s.hwmKiB);
      }
      await sleep(100);
    }
    const code = await exited;
    await log.close();
    if (code !== '0') {
      const output = await readFile(path.join(root.dir, `migrate-${rt.name}.log`), 'utf8');
      throw new AgentRunError(`${rt.name}: yx-agent migrate exited with ${code}: ${output.slice(-2000)}`);
    }
    return { seconds: seconds(t0), peakRssKiB: peak, rssMedianKiB: median(rss) };
  } finally {
    await root.remove();
  }
}

async function main(): Promise<void> {
  const [rootTar, mirrorDir, exe, build] = [
    await ensureDebianRoot(),
    await ensureDebianMirror(),
    await agentExecutable('x64'),
    await readAgentBuild(),
  ];
  // freshDebianRoot reads the root from the environment, as the OS tests do.
  process.env.YX_DEBIAN_ROOT_TAR = rootTar;
  const runtimes: Runtime[] = [
    { name: 'compiled', command: agentCommand(exe) },
    { name: 'node', command: nodeEntryCommand() },
  ];
  const compiledBytes = (await stat(exe.path)).size;
  const nodeBytes = (await stat(process.execPath)).size;
  say(
    `compiled ${path.relative(process.cwd(), exe.path)} ${mib(compiledBytes / 1024)} MiB (${build.commit}, bun ${build.bun}); node ${process.execPath} ${mib(nodeBytes / 1024)} MiB`,
  );

  const starts = await startTimes(runtimes);
  const start = { compiled: median(starts.compiled), node: median(starts.node) };
  say(`version: compiled ${(start.compiled * 1000).toFixed(0)} ms, node ${(start.node * 1000).toFixed(0)} ms (median of ${STARTS})`);

  const idleFigures = await idle(runtimes);
  for (const rt of runtimes) {
    const f = idleFigures[rt.name];
    say(
      `idle ${rt.name}: ready in ${f.readySeconds.toFixed(2)} s, RSS ${mib(f.rssMedianKiB)} MiB (max ${mib(f.rssMaxKiB)}), ${f.cpuSecondsPerHour.toFixed(1)} CPU s/h, ${f.heartbeats} heartbeats`,
    );
  }

  const mirror = await serveDirectory(mirrorDir);
  const migrations: Record<RuntimeName, MigrationFigures[]> = { compiled: [], node: [] };
  try {
    for (let i = 0; i < MIGRATIONS; i++) {
      for (const rt of i % 2 ? [...runtimes].reverse() : runtimes) {
        const m = await migration(rt, mirror.url);
        migrations[rt.name].push(m);
        say(
          `migration ${i + 1} ${rt.name}: ${m.seconds.toFixed(1)} s, peak RSS ${mib(m.peakRssKiB)} MiB, median ${mib(m.rssMedianKiB)} MiB`,
        );
      }
    }
  } finally {
    await mirror.close();
  }
  const mig = (name: RuntimeName) => ({
    seconds: median(migrations[name].map((m) => m.seconds)),
    peakRssKiB: Math.max(...migrations[name].map((m) => m.peakRssKiB)),
    rssMedianKiB: median(migrations[name].map((m) => m.rssMedianKiB)),
  });
  const migC = mig('compiled');
  const migN = mig('node');
  const [idleC, idleN] = [idleFigures.compiled, idleFigures.node];

  const figures = {
    build: { commit: build.commit, bun: build.bun },
    starts: STARTS,
    idleSeconds: IDLE_SECONDS,
    heartbeatMs: HEARTBEAT_MS,
    migrations: MIGRATIONS,
    compiledMiB: mib(compiledBytes / 1024),
    nodeBinaryMiB: mib(nodeBytes / 1024),
    versionMs: { compiled: round(start.compiled * 1000, 0), node: round(start.node * 1000, 0), ratio: round(start.compiled / start.node) },
    hostReadySeconds: { compiled: round(idleC.readySeconds), node: round(idleN.readySeconds) },
    idleRssMiB: { compiled: mib(idleC.rssMedianKiB), node: mib(idleN.rssMedianKiB), ratio: round(idleC.rssMedianKiB / idleN.rssMedianKiB) },
    idleRssMaxMiB: { compiled: mib(idleC.rssMaxKiB), node: mib(idleN.rssMaxKiB) },
    idleCpuSecondsPerHour: {
      compiled: round(idleC.cpuSecondsPerHour, 1),
      node: round(idleN.cpuSecondsPerHour, 1),
      ratio: round(idleC.cpuSecondsPerHour / idleN.cpuSecondsPerHour),
    },
    idleHeartbeats: { compiled: idleC.heartbeats, node: idleN.heartbeats },
    migrationPeakRssMiB: { compiled: mib(migC.peakRssKiB), node: mib(migN.peakRssKiB), ratio: round(migC.peakRssKiB / migN.peakRssKiB) },
    migrationRssMedianMiB: { compiled: mib(migC.rssMedianKiB), node: mib(migN.rssMedianKiB) },
    migrationSeconds: { compiled: round(migC.seconds, 1), node: round(migN.seconds, 1), ratio: round(migC.seconds / migN.seconds) },
  };
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  await writeBenchResult('agent', figures);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
