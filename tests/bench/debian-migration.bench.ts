// Debian 11 → 12 benchmark (not a test): the agent's wall time for the whole migration
// (`yx-agent migrate`: assessment, backup, upgrade, post-check) against the same
// package-manager commands run bare on an identical root, and the backup time alone.
// Packages come from the local mirror on loopback, so the network does not blur it.
//
//   npm run bench:debian [-- --rounds 3]
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { APT_CHANGE, HostRoot, mustRun, NONINTERACTIVE, runCommand, snapshotDriver } from '@yixing/host-agent/internal';
import { ensureDebianMirror, ensureDebianRoot } from '../../infra/dev/os-roots.ts';
import { repoRoot } from '../../infra/dev/paths.ts';
import { serveDirectory } from '../fixtures/static-server.ts';
import { clockTicksPerSecond, median, sampleProcess } from './proc-sample.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, rollback: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
/** The agent's --rollback (default: its own choice, a copy snapshot for a directory root). */
const ROLLBACK = values.rollback;
const TICKS = clockTicksPerSecond();

/** CPU seconds of the processes this one has started and waited for: both sides' commands, whatever the machine's load. */
async function childCpu(): Promise<number> {
  const s = await sampleProcess(process.pid);
  if (!s) throw new Error('cannot read this process in /proc');
  return s.childCpuTicks / TICKS;
}
// The same options the agent's apt uses: what differs is only the agent around them.
const APT = APT_CHANGE;
const ENV = NONINTERACTIVE;

async function extract(tar: string): Promise<{ dir: string; root: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-bench-deb-'));
  const root = path.join(dir, 'root');
  await mustRun(['mkdir', root]);
  await mustRun(['tar', '--numeric-owner', '-xpf', tar, '-C', root]);
  return { dir, root };
}

/** The package-manager commands the migration needs, and nothing else. */
async function bare(root: string, mirror: string): Promise<{ secs: number; cpu: number }> {
  const r = new HostRoot(root);
  await writeFile(
    r.at('etc/apt/sources.list'),
    [
      `deb [trusted=yes] ${mirror}/debian bookworm main`,
      `deb [trusted=yes] ${mirror}/debian bookworm-updates main`,
      `deb [trusted=yes] ${mirror}/debian-security bookworm-security main`,
      '',
    ].join('\n'),
  );
  await writeFile(r.at('usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const t = performance.now();
  const cpu = await childCpu();
  await r.withMounts(async () => {
    await r.mustExec(['apt-get', 'update', '-q'], { env: ENV });
    await r.mustExec(['apt-get', ...APT, 'upgrade', '--without-new-pkgs'], { env: ENV });
    await r.mustExec(['apt-get', ...APT, 'full-upgrade'], { env: ENV });
  });
  return { secs: (performance.now() - t) / 1000, cpu: (await childCpu()) - cpu };
}

/**
 * CPU seconds of a copy snapshot alone (the agent's copy driver, on a root identical to
 * the agent's): work the bare commands do not do, measured on its own so both ratios,
 * with it and without it, can be given.
 */
async function copyAlone(root: string): Promise<number> {
  const cpu = await childCpu();
  const ref = await snapshotDriver('copy', new HostRoot(root)).take('bench');
  const used = (await childCpu()) - cpu;
  await rm(ref.id, { recursive: true, force: true });
  return used;
}

interface AgentRun {
  total: number;
  precheck: number;
  backup: number;
  upgrade: number;
  /** The copy snapshot the upgrade step takes first (the rollback strategy for a directory root), 0 when none. */
  snapshot: number;
  /** CPU seconds of the agent and everything it ran. */
  cpu: number;
}

async function agent(root: string, dir: string, mirror: string): Promise<AgentRun> {
  const state = path.join(dir, 'state');
  const t = performance.now();
  const cpu = await childCpu();
  const r = await runCommand([
    process.execPath,
    path.join(repoRoot, 'services/host-agent/src/main.ts'),
    'migrate',
    '--profile',
    'debian-11-to-12',
    '--root',
    root,
    '--state-dir',
    state,
    '--mirror',
    `http://deb.debian.org=${mirror}`,
    '--trusted-mirrors',
    ...(ROLLBACK ? ['--rollback', ROLLBACK] : []),
  ]);
  const total = (performance.now() - t) / 1000;
  const used = (await childCpu()) - cpu;
  if (r.code !== 0) throw new Error(`yx-agent migrate exited with ${r.code}: ${r.stdout}${r.stderr}`);
  const { readdir } = await import('node:fs/promises');
  const file = (await readdir(path.join(state, 'runs'))).find((f) => f.endsWith('.json')) as string;
  const steps = (
    JSON.parse(await readFile(path.join(state, 'runs', file), 'utf8')) as {
      steps: { step: string; startedAt: string; finishedAt: string }[];
    }
  ).steps;
  const secs = (name: string): number => {
    const s = steps.find((x) => x.step === name);
    return s ? (Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000 : Number.NaN;
  };
  const log = await readFile(path.join(state, 'runs', file.replace(/\.json$/, '.log')), 'utf8');
  const snapshot = Number(/rollback strategy: snapshot .* taken in ([\d.]+) s/.exec(log)?.[1] ?? 0);
  return { total, precheck: secs('precheck'), backup: secs('backup'), upgrade: secs('upgrade'), snapshot, cpu: used };
}

async function main(): Promise<void> {
  const [tar, mirrorDir] = [await ensureDebianRoot(), await ensureDebianMirror()];
  const mirror = await serveDirectory(mirrorDir);
  const rows: ({ bare: number; bareCpu: number; copyCpu: number } & AgentRun)[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const a = await extract(tar);
      const b = await extract(tar);
      try {
        // Alternate which goes first, so a warm page cache favours neither.
        let bareRun: { secs: number; cpu: number };
        let run: AgentRun;
        let copyCpu: number;
        // The copy on the bare side's root right before its commands, as the agent's comes right before its upgrade.
        if (i % 2 === 0) {
          copyCpu = await copyAlone(a.root);
          bareRun = await bare(a.root, mirror.url);
          run = await agent(b.root, b.dir, mirror.url);
        } else {
          run = await agent(b.root, b.dir, mirror.url);
          copyCpu = await copyAlone(a.root);
          bareRun = await bare(a.root, mirror.url);
        }
        const bareSecs = bareRun.secs;
        rows.push({ bare: bareSecs, bareCpu: bareRun.cpu, copyCpu, ...run });
        process.stderr.write(
          `round ${i + 1}: bare ${bareSecs.toFixed(1)} s (CPU ${bareRun.cpu.toFixed(1)} s), agent ${run.total.toFixed(1)} s (CPU ${run.cpu.toFixed(1)} s; precheck ${run.precheck.toFixed(2)} s, ` +
            `upgrade ${run.upgrade.toFixed(1)} s of which snapshot ${run.snapshot.toFixed(1)} s, backup ${run.backup.toFixed(2)} s); a copy alone CPU ${copyCpu.toFixed(2)} s\n`,
        );
      } finally {
        await rm(a.dir, { recursive: true, force: true });
        await rm(b.dir, { recursive: true, force: true });
      }
    }
  } finally {
    await mirror.close();
  }
  const m = {
    bare: median(rows.map((r) => r.bare)),
    total: median(rows.map((r) => r.total)),
    precheck: median(rows.map((r) => r.precheck)),
    upgrade: median(rows.map((r) => r.upgrade)),
    backup: median(rows.map((r) => r.backup)),
    snapshot: median(rows.map((r) => r.snapshot)),
    // Per round, so the load of that round is on both sides.
    ratio: median(rows.map((r) => r.total / r.bare)),
    ratioLessSnapshot: median(rows.map((r) => (r.total - r.snapshot) / r.bare)),
    cpuRatio: median(rows.map((r) => r.cpu / r.bareCpu)),
    copyCpu: median(rows.map((r) => r.copyCpu)),
    // Whether the agent took a copy is read from its log (snapshot > 0): only then is one taken off.
    cpuRatioLessCopy: median(rows.map((r) => (r.cpu - (r.snapshot > 0 ? r.copyCpu : 0)) / r.bareCpu)),
    cpuRatioBarePlusCopy: median(rows.map((r) => r.cpu / (r.bareCpu + (r.snapshot > 0 ? r.copyCpu : 0)))),
  };
  const figures = {
    rounds: ROUNDS,
    bareSeconds: Number(m.bare.toFixed(2)),
    agentSeconds: Number(m.total.toFixed(2)),
    agentOverBare: Number((m.total / m.bare).toFixed(2)),
    // The median of the rounds' own ratios: steadier than a ratio of medians on a loaded machine.
    agentOverBareByRound: Number(m.ratio.toFixed(2)),
    agentLessSnapshotOverBareByRound: Number(m.ratioLessSnapshot.toFixed(2)),
    // CPU seconds of each side's processes: what the agent adds, whatever else loads the machine.
    agentCpuOverBareCpu: Number(m.cpuRatio.toFixed(2)),
    // The copy snapshot is work the bare commands do not do: the ratio without it, and
    // against bare commands that take the same copy (equal to the above without a copy).
    copySnapshotCpuSeconds: Number(m.copyCpu.toFixed(2)),
    agentLessCopyCpuOverBareCpu: Number(m.cpuRatioLessCopy.toFixed(2)),
    agentCpuOverBarePlusCopyCpu: Number(m.cpuRatioBarePlusCopy.toFixed(2)),
    rollback: ROLLBACK ?? 'default',
    precheckSeconds: Number(m.precheck.toFixed(2)),
    snapshotSeconds: Number(m.snapshot.toFixed(2)),
    upgradeStepSeconds: Number(m.upgrade.toFixed(2)),
    upgradeStepOverBare: Number((m.upgrade / m.bare).toFixed(2)),
    backupSeconds: Number(m.backup.toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  await writeBenchResult('debian-migration', figures);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
