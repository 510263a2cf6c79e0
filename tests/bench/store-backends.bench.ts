// FerretDB's two backends on one store workload (not a test): SQLite files against
// Debian's PostgreSQL, each round starting both afresh, in alternating order (A B, B A, …)
// so that a machine whose load drifts weighs on both alike. The workload is the
// scheduler's own store code at plan scale: `--hosts` hosts registered as the inventory
// stores them (insertMany of 500), a plan of as many runs created (RunStore.insertNew),
// `--stepped` of its runs taken through the six migration steps by 500 slots at once (per
// step a dispatch version, then the step's record and the next version, as the engine
// commits them: one ticket per turn of the event loop), the plan loaded as a scheduler
// start does, the host list and host details read, the plan compacted, pages of the
// finished plan's view read, and the tickets' housekeeping. Per operation kind: ops per
// second, p50/p99; per backend: the CPU of FerretDB and of PostgreSQL (the postmaster
// and its backends). Ratios are PostgreSQL ÷ SQLite within each round, then the median.
//
//   npm run bench:store -- [--hosts 100000] [--stepped 5000] [--rounds 2] [--slots 500] [--details 100] [--pages 50]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectDb, ensureIndexes } from '@yixing/common';
import { type HostRunDoc, type Models, pendingRun, RunStore, registerModels } from '@yixing/scheduler/internal';
import { clusterPids } from '../../infra/dev/postgresql.ts';
import { type EmbeddedServers, type StoreBackend, startEmbeddedServers } from './embedded-servers.ts';
import { clockTicksPerSecond, median, sampleProcess } from './proc-sample.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '100000' },
    stepped: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '2' },
    slots: { type: 'string', default: '500' },
    details: { type: 'string', default: '100' },
    pages: { type: 'string', default: '50' },
  },
});
const HOSTS = Number(values.hosts);
const STEPPED = Math.min(Number(values.stepped), HOSTS);
const ROUNDS = Number(values.rounds);
const SLOTS = Number(values.slots);
const DETAILS = Number(values.details);
const PAGES = Number(values.pages);
const STEPS = ['cluster-check', 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'] as const;
const PLAN = 'p-20261207-store';

/** Latencies (ms) of one kind of operation and how many documents each moved. */
interface OpSamples {
  ms: number[];
  docs: number;
  wallMs: number;
}
interface OpFigures {
  count: number;
  docs: number;
  docsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  wallS: number;
}
interface RunFigures {
  store: StoreBackend;
  round: number;
  ops: Record<string, OpFigures>;
  wallS: number;
  cpuS: { ferretdb: number; postgres: number; bench: number };
  loadavg: [string, string];
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
}

export function opFigures(s: OpSamples): OpFigures {
  return {
    count: s.ms.length,
    docs: s.docs,
    docsPerSecond: Number((s.docs / (s.wallMs / 1000)).toPrecision(3)),
    p50Ms: Number(percentile(s.ms, 50).toFixed(2)),
    p99Ms: Number(percentile(s.ms, 99).toFixed(2)),
    wallS: Number((s.wallMs / 1000).toFixed(2)),
  };
}

/** PostgreSQL ÷ SQLite of each figure, per round, then the median over rounds. */
export function ratios(runs: readonly RunFigures[]): Record<string, { throughput: number; p50: number; p99: number }> & {
  wall: number;
  cpu: number;
} {
  const rounds = [...new Set(runs.map((r) => r.round))];
  const pairs = rounds.map((n) => ({
    sqlite: runs.find((r) => r.round === n && r.store === 'sqlite') as RunFigures,
    pg: runs.find((r) => r.round === n && r.store === 'postgres') as RunFigures,
  }));
  const out: Record<string, { throughput: number; p50: number; p99: number }> = {};
  const r2 = (x: number): number => Number(x.toFixed(2));
  for (const kind of Object.keys(pairs[0]?.sqlite.ops ?? {})) {
    const of = (f: (p: (typeof pairs)[number]) => number): number => r2(median(pairs.map(f)));
    out[kind] = {
      throughput: of((p) => (p.pg.ops[kind]?.docsPerSecond ?? 0) / (p.sqlite.ops[kind]?.docsPerSecond ?? 1)),
      p50: of((p) => (p.pg.ops[kind]?.p50Ms ?? 0) / (p.sqlite.ops[kind]?.p50Ms || 1)),
      p99: of((p) => (p.pg.ops[kind]?.p99Ms ?? 0) / (p.sqlite.ops[kind]?.p99Ms || 1)),
    };
  }
  const cpu = (r: RunFigures): number => r.cpuS.ferretdb + r.cpuS.postgres;
  return Object.assign(out, {
    wall: r2(median(pairs.map((p) => p.pg.wallS / p.sqlite.wallS))),
    cpu: r2(median(pairs.map((p) => cpu(p.pg) / cpu(p.sqlite)))),
  });
}

/** Times `op` into `into`, counting the documents it moved. */
async function timed<T>(into: OpSamples, docs: number, op: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await op();
  into.ms.push(performance.now() - t);
  into.docs += docs;
  return out;
}

const samples = (): OpSamples => ({ ms: [], docs: 0, wallMs: 0 });

/** Runs `fn` and adds its wall time to each of `these`. */
async function phase(these: OpSamples[], fn: () => Promise<void>): Promise<void> {
  const t = performance.now();
  await fn();
  for (const s of these) s.wallMs += performance.now() - t;
  process.stderr.write(`  ${these.length} kind(s) done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}

const hostDoc = (i: number, now: Date) => ({
  _id: `h${String(i).padStart(6, '0')}`,
  facts: { hostname: `h${i}`, osId: 'centos', osVersion: '7.9', arch: 'x86_64', kernel: '3.10.0', bootId: `b${i}`, roles: [] },
  labels: { pool: 'bench', cluster: `c${i % 100}`, zone: `z${i % 3}`, rack: `r${i % 40}`, role: 'web', extra: {} },
  driver: 'dnf',
  agentVersion: '0.1.0',
  registeredAt: now,
  lastSeenAt: now,
  version: 0,
});

/** A run through the six steps: per step a dispatch version, then its record and the next version. */
async function stepThrough(store: RunStore, run: HostRunDoc, commits: OpSamples): Promise<void> {
  let cur = run;
  for (const [i, step] of STEPS.entries()) {
    const commandId = `${cur.runId}.0.${step}.1`;
    const at = new Date();
    cur = await timed(commits, 1, () =>
      store.commit(cur, { ...cur, state: 'active', step, commandId, stepState: 'dispatching', dispatchedAt: at }),
    );
    const rec = {
      step,
      attempt: 1,
      commandId,
      dispatchedAt: at,
      startedAt: at,
      finishedAt: new Date(),
      outcome: 'succeeded' as const,
      kind: null,
      code: '',
      message: '',
      report: '{}',
    };
    const last = i === STEPS.length - 1;
    const next: HostRunDoc = {
      ...cur,
      stepState: null,
      history: [...cur.history, rec],
      ...(last ? { state: 'succeeded', step: null } : {}),
    };
    cur = await timed(commits, 2, () => store.commit(cur, next));
  }
}

async function workload(models: Models): Promise<Record<string, OpFigures>> {
  const store = new RunStore(models);
  const s = {
    'register hosts (insertMany 500)': samples(),
    'create plan (insertNew, 1000 a batch)': samples(),
    'step commit (500 slots)': samples(),
    'load plan (scheduler start)': samples(),
    'host list (all hosts, cursor)': samples(),
    'host detail (loadHost)': samples(),
    'compact plan': samples(),
    'plan view page (100 runs)': samples(),
    'housekeeping (tickets)': samples(),
  };
  const now = new Date();
  const register = s['register hosts (insertMany 500)'];
  await phase([register], async () => {
    for (let i = 0; i < HOSTS; i += 500) {
      const docs = Array.from({ length: Math.min(500, HOSTS - i) }, (_, j) => hostDoc(i + j, now));
      await timed(register, docs.length, () => models.Host.insertMany(docs, { ordered: false }));
    }
  });
  const runs = Array.from({ length: HOSTS }, (_, i) =>
    pendingRun({
      planId: PLAN,
      hostId: `h${String(i).padStart(6, '0')}`,
      order: i,
      phase: i < 20 ? 0 : 1,
      cluster: `c${i % 100}`,
      zone: `z${i % 3}`,
      rack: `r${i % 40}`,
    }),
  );
  const create = s['create plan (insertNew, 1000 a batch)'];
  await phase([create], async () => {
    for (let i = 0; i < runs.length; i += 1000) {
      const batch = runs.slice(i, i + 1000);
      await timed(create, batch.length, () => store.insertNew(batch));
    }
  });
  const commits = s['step commit (500 slots)'];
  await phase([commits], async () => {
    let next = 0;
    const slot = async (): Promise<void> => {
      while (next < STEPPED) await stepThrough(store, runs[next++] as HostRunDoc, commits);
    };
    await Promise.all(Array.from({ length: SLOTS }, slot));
  });
  const load = s['load plan (scheduler start)'];
  let finals: HostRunDoc[] = [];
  await phase([load], async () => {
    finals = await timed(load, HOSTS, () => store.loadPlan(PLAN));
  });
  const list = s['host list (all hosts, cursor)'];
  await phase([list], async () => {
    await timed(list, HOSTS, async () => {
      let n = 0;
      for await (const _ of models.Host.find({}).lean().cursor()) n++;
      return n;
    });
  });
  const detail = s['host detail (loadHost)'];
  await phase([detail], async () => {
    for (let i = 0; i < DETAILS; i++) await timed(detail, 1, () => store.loadHost(`h${String((i * 7919) % HOSTS).padStart(6, '0')}`));
  });
  const compact = s['compact plan'];
  await phase([compact], async () => {
    await timed(compact, HOSTS, () => store.compact(PLAN, finals));
  });
  const page = s['plan view page (100 runs)'];
  await phase([page], async () => {
    let after: { order: number; key: string } | undefined;
    for (let i = 0; i < PAGES; i++) {
      const got = await timed(page, 100, () => store.pagePlan(PLAN, { limit: 100, ...(after ? { after } : {}) }));
      const last = got.runs.at(-1);
      if (last) after = { order: last.order, key: last._id };
    }
  });
  // The housekeeping's queries (reconcile/housekeeping.ts): which plans have tickets and
  // versions, then the tickets of the plans that are over.
  const hk = s['housekeeping (tickets)'];
  await phase([hk], async () => {
    await timed(hk, 1, async () => {
      const [withTickets, withVersions] = await Promise.all([models.RunTicket.distinct('planId'), models.RunState.distinct('planId')]);
      const drop = (withTickets as string[]).filter((id) => !(withVersions as string[]).includes(id));
      if (drop.length > 0) await models.RunTicket.deleteMany({ planId: { $in: drop } });
    });
  });
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, opFigures(v)]));
}

/** CPU ticks of the store's processes: FerretDB; the postmaster with its exited and live backends. */
async function storeTicks(servers: EmbeddedServers): Promise<{ ferretdb: number; postgres: number }> {
  const f = await sampleProcess(servers.pids.ferretdb);
  let postgres = 0;
  if (servers.pids.postgres !== undefined) {
    for (const pid of await clusterPids(servers.pids.postgres)) {
      const p = await sampleProcess(pid);
      if (p) postgres += p.cpuTicks + (pid === servers.pids.postgres ? p.childCpuTicks : 0);
    }
  }
  return { ferretdb: f?.cpuTicks ?? 0, postgres };
}

async function measure(store: StoreBackend, round: number, hz: number): Promise<RunFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), `yx-bench-store-${store}-`));
  const servers = await startEmbeddedServers(dir, { store });
  process.stderr.write(`round ${round}: ${store}\n`);
  try {
    const conn = await connectDb({ uri: servers.mongoUri('bench'), appName: 'bench-store' });
    try {
      const models = registerModels(conn);
      await ensureIndexes(conn);
      const loadBefore = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
      const [ticks0, cpu0, t0] = [await storeTicks(servers), process.cpuUsage(), performance.now()];
      const ops = await workload(models);
      const [ticks1, cpu1, t1] = [await storeTicks(servers), process.cpuUsage(cpu0), performance.now()];
      const loadAfter = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
      const sec = (t: number): number => Number((t / hz).toFixed(1));
      return {
        store,
        round,
        ops,
        wallS: Number(((t1 - t0) / 1000).toFixed(1)),
        cpuS: {
          ferretdb: sec(ticks1.ferretdb - ticks0.ferretdb),
          postgres: sec(ticks1.postgres - ticks0.postgres),
          bench: Number(((cpu1.user + cpu1.system) / 1e6).toFixed(1)),
        },
        loadavg: [loadBefore, loadAfter],
      };
    } finally {
      await conn.close();
    }
  } finally {
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function print(r: RunFigures): void {
  process.stdout.write(
    `round ${r.round} ${r.store}: ${r.wallS} s; CPU FerretDB ${r.cpuS.ferretdb} s, PostgreSQL ${r.cpuS.postgres} s, bench ${r.cpuS.bench} s; load ${r.loadavg.join(' → ')}\n`,
  );
  for (const [kind, f] of Object.entries(r.ops)) {
    process.stdout.write(`  ${kind}: ${f.count} ops, ${f.docsPerSecond} docs/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms\n`);
  }
}

async function main(): Promise<void> {
  const hz = clockTicksPerSecond();
  const runs: RunFigures[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order: StoreBackend[] = round % 2 === 1 ? ['sqlite', 'postgres'] : ['postgres', 'sqlite'];
    for (const store of order) {
      const r = await measure(store, round, hz);
      runs.push(r);
      print(r);
    }
  }
  const ratio = ratios(runs);
  process.stdout.write(`PostgreSQL ÷ SQLite (median over ${ROUNDS} rounds; throughput > 1 and latency < 1 favour PostgreSQL):\n`);
  for (const [kind, v] of Object.entries(ratio)) {
    process.stdout.write(
      typeof v === 'number' ? `  ${kind}: ${v}\n` : `  ${kind}: throughput ${v.throughput}, p50 ${v.p50}, p99 ${v.p99}\n`,
    );
  }
  const file = await writeBenchResult('store-backends', {
    hosts: HOSTS,
    stepped: STEPPED,
    slots: SLOTS,
    details: DETAILS,
    pages: PAGES,
    rounds: ROUNDS,
    runs,
    ratios: ratio,
  });
  process.stdout.write(`figures written to ${file}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`bench:store: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
