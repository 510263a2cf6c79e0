// What tracing costs (not a test): the fleet rehearsal (rehearsal.ts) run with traces off
// (no OTEL_* variable) and on (OTEL_EXPORTER_OTLP_ENDPOINT to an OTLP/HTTP receiver in
// this process, for the scheduler and every fleet), alternately (off, on, on, off, ...) as
// the machine is shared and drifts. Prints the makespan and the scheduler's CPU on and off
// with their ratios, the scheduler's peak RSS, and the spans received per host-run; a run
// with tracing on whose spans did not all arrive fails the bench (an exporter failing
// silently would measure nothing).
//
//   npm run bench:tracing [-- --hosts 2000 --rounds 2 --cpu-prof /tmp/profiles]
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './proc-sample.ts';
import {
  REHEARSAL_STEPS,
  type RehearsalFigures,
  rehearsalArgs,
  rehearsalOptions,
  rehearsalShape,
  round,
  runRehearsal,
} from './rehearsal.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({
  options: {
    ...rehearsalArgs({ hosts: '2000', fleets: '2', clusters: '40', 'max-in-flight': '200', canary: '10' }),
    rounds: { type: 'string', default: '2' },
    'idle-seconds': { type: 'string', default: '15' },
    // A directory: the scheduler and fleets of each run write V8 CPU profiles under it (where tracing's cost goes).
    'cpu-prof': { type: 'string' },
  },
});

/** What the receiver took in: spans by `service name`, the exports accepted, the ones refused. */
class SpanCounts {
  readonly byServiceAndName = new Map<string, number>();
  exports = 0;
  refused: string[] = [];

  total(filter: (service: string, name: string) => boolean = () => true): number {
    let n = 0;
    for (const [key, count] of this.byServiceAndName) {
      const [service, name] = key.split('\t') as [string, string];
      if (filter(service, name)) n += count;
    }
    return n;
  }
}

interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: { name: string }[] }[];
  }[];
}

/** The OTLP/HTTP trace endpoint, JSON protocol (what the services' OTLPTraceExporter sends). */
function receive(counts: SpanCounts, req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: OtlpTraces;
    try {
      if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`${req.method} ${req.url}`);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTraces;
    } catch (err) {
      counts.refused.push((err as Error).message);
      res.writeHead(400).end();
      return;
    }
    for (const rs of body.resourceSpans ?? []) {
      const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          const key = `${service}\t${s.name}`;
          counts.byServiceAndName.set(key, (counts.byServiceAndName.get(key) ?? 0) + 1);
        }
      }
    }
    counts.exports++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
}

interface TracedRun extends RehearsalFigures {
  tracing: boolean;
  spans?: Record<string, number>;
  receiverCpuSeconds?: number;
}

/** Every host-run's first span and each of its agent steps arrived, and nothing was refused. */
function checkComplete(counts: SpanCounts, hosts: number): void {
  const hostRuns = counts.total((svc, name) => svc === 'yx-scheduler' && name === 'host-run');
  const steps = counts.total((svc, name) => svc === 'yx-agent' && name.startsWith('step '));
  const problems = [
    ...(counts.refused.length ? [`${counts.refused.length} exports refused (${counts.refused[0]})`] : []),
    ...(hostRuns !== hosts ? [`${hostRuns} host-run spans for ${hosts} hosts`] : []),
    ...(steps !== hosts * REHEARSAL_STEPS.length ? [`${steps} agent step spans for ${hosts * REHEARSAL_STEPS.length} steps`] : []),
  ];
  if (problems.length) throw new Error(`tracing on, but not every span arrived: ${problems.join('; ')}`);
}

/** Node's options for a V8 CPU profile of each process, written when it exits. */
const cpuProfileEnv = (dir: string, who: string) => ({ NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.join(dir, who)}` });

/** The code measured: the commit, and the files under services/ that differ from it (the tree is shared). */
function codeMeasured(): { head: string; changedServiceFiles: string[] } {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  const changed = git('status', '--porcelain', '--', 'services');
  return { head: git('rev-parse', '--short', 'HEAD'), changedServiceFiles: changed ? changed.split('\n').map((l) => l.slice(3)) : [] };
}

async function main(): Promise<void> {
  // Off means off: nothing inherited from this shell turns the SDK on.
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  const o = rehearsalOptions(values);
  const rounds = Number(values.rounds);
  let counts = new SpanCounts();
  const receiver = createServer((req, res) => receive(counts, req, res));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const runs: TracedRun[] = [];
  const code = codeMeasured();
  try {
    for (let i = 0; i < rounds; i++) {
      // off, on, then on, off: a drift over the session weighs on both alike.
      for (const tracing of i % 2 === 0 ? [false, true] : [true, false]) {
        counts = new SpanCounts();
        const cpu0 = process.cpuUsage();
        const label = `round ${i + 1} tracing ${tracing ? 'on' : 'off'}: `;
        const profileDir = values['cpu-prof'] && path.resolve(values['cpu-prof'], `round-${i + 1}-${tracing ? 'on' : 'off'}`);
        const r = await runRehearsal({
          ...o,
          idleSeconds: Number(values['idle-seconds']),
          label,
          ...(tracing ? { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } } : {}),
          ...(profileDir ? { schedulerEnv: cpuProfileEnv(profileDir, 'scheduler'), fleetEnv: cpuProfileEnv(profileDir, 'fleets') } : {}),
        });
        const cpu = process.cpuUsage(cpu0);
        if (tracing) checkComplete(counts, o.hosts);
        else if (counts.exports > 0) throw new Error(`tracing off, yet ${counts.exports} exports arrived`);
        const run: TracedRun = tracing
          ? {
              tracing,
              ...r,
              spans: Object.fromEntries([...counts.byServiceAndName].sort()),
              receiverCpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
            }
          : { tracing, ...r };
        process.stderr.write(`${label}${JSON.stringify({ ...run, spans: tracing ? counts.total() : 0 })}\n`);
        runs.push(run);
      }
    }
  } finally {
    await new Promise((r) => receiver.close(r));
  }

  const on = runs.filter((r) => r.tracing);
  const off = runs.filter((r) => !r.tracing);
  const of = (rs: TracedRun[], f: (r: TracedRun) => number) => round(median(rs.map(f)), 2);
  const compare = (f: (r: TracedRun) => number) => {
    const [a, b] = [of(on, f), of(off, f)];
    return { off: b, on: a, ratio: round(a / b, 3), runsOff: off.map(f), runsOn: on.map(f) };
  };
  const spansPerRun = on.map((r) => round(Object.values(r.spans ?? {}).reduce((x, y) => x + y, 0) / o.hosts));
  const last = on.at(-1)?.spans ?? {};
  const byService: Record<string, number> = {};
  for (const [key, n] of Object.entries(last)) {
    const service = key.split('\t')[0] as string;
    byService[service] = round((byService[service] ?? 0) + n / o.hosts);
  }
  const result = {
    ...rehearsalShape(o),
    code,
    rounds,
    order: runs.map((r) => (r.tracing ? 'on' : 'off')).join(','),
    makespanSeconds: compare((r) => r.makespanSeconds),
    schedulerCpuSeconds: compare((r) => r.schedulerCpuSeconds),
    // Less what it would have spent idle for as long (heartbeats, ticks): the plan's own work.
    schedulerPlanCpuSeconds: compare((r) => round(r.schedulerCpuSeconds - r.schedulerIdleCpuPerSecond * r.makespanSeconds, 2)),
    schedulerIdleCpuPerSecond: compare((r) => r.schedulerIdleCpuPerSecond),
    machineBusyCores: compare((r) => r.machineBusyCores),
    machineStealCores: compare((r) => r.machineStealCores),
    fleetCpuSeconds: compare((r) => r.fleetCpuSeconds),
    schedulerPeakRssMiB: compare((r) => r.schedulerPeakRssMiB),
    spansPerHostRun: median(spansPerRun),
    spansPerHostRunByService: byService,
    spansByServiceAndName: Object.fromEntries(Object.entries(last).map(([k, n]) => [k.replace('\t', ': '), n])),
    receiverCpuSeconds: on.map((r) => r.receiverCpuSeconds),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await writeBenchResult('tracing', result);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
