// Scheduling quality (issue 18), not a test: the zero-overhead replay of the scheduler's
// own admission and plan progression (services/scheduler/src/plans/schedule-replay.ts) on a
// seeded lognormal workload, against the lower bound max(Σd ÷ C, max d), and what a batch
// barrier (Ansible `serial`) and an exponential ramp (AWS SSM rate control) take on the same
// durations. Each policy is replayed in the plan's order (FIFO: no predictions), and longest
// first on exact predictions and on predictions off by a lognormal noise. Pure CPU in this
// process; writes bench/results/schedule-model.json.
//
//   node tests/bench/schedule-model.bench.ts [--hosts 100000] [--slots 5000] [--clusters 100]
//     [--sigma 0.5] [--noise 0.3] [--median 600] [--seed 1]
import { parseArgs } from 'node:util';
import {
  batchBarrierSeconds,
  exponentialRampSeconds,
  gatedLowerBoundSeconds,
  lognormalWorkload,
  lowerBoundSeconds,
  type PlanInput,
  type ReplayHost,
  replayPlan,
  replaySchedule,
} from '@yixing/scheduler/internal';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '100000' },
    slots: { type: 'string', default: '5000' },
    clusters: { type: 'string', default: '100' },
    sigma: { type: 'string', default: '0.5' },
    noise: { type: 'string', default: '0.3' },
    median: { type: 'string', default: '600' },
    seed: { type: 'string', default: '1' },
  },
});
const workload = {
  hosts: Number(values.hosts),
  clusters: Number(values.clusters),
  medianSeconds: Number(values.median),
  sigma: Number(values.sigma),
  seed: Number(values.seed),
};
const slots = Number(values.slots);
const noise = Number(values.noise);

const base: PlanInput = {
  name: 'schedule-model',
  selector: { pool: 'bench' },
  profile: 'debian-11-to-12',
  promotion: { mode: 'auto', soakSeconds: 0 },
  errorBudget: { plan: { percent: 100 } },
  clusterCheck: { minHealthyPercent: 0 },
  limits: { maxInFlight: slots },
};
const policies: { name: string; input: PlanInput }[] = [
  { name: 'one phase', input: { ...base, canary: { percent: 100 } } },
  {
    name: 'canary 50, waves 10/30/60 %, 50 % a cluster',
    input: {
      ...base,
      canary: { count: 50 },
      waves: [{ percent: 10 }, { percent: 30 }, { percent: 60 }],
      limits: { maxInFlight: slots, perCluster: { percent: 50 } },
    },
  },
];

const durations = lognormalWorkload(workload);
const noisy = lognormalWorkload({ ...workload, predictionSigma: noise });
const exact: ReplayHost[] = durations.map((h) => ({ ...h, predictedSeconds: h.seconds }));
const seconds = durations.map((h) => h.seconds);
const bound = lowerBoundSeconds(seconds, slots);
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

function replay(input: PlanInput, hosts: ReplayHost[], gated: number) {
  const cpu = process.cpuUsage();
  const r = replaySchedule(input, hosts);
  const used = process.cpuUsage(cpu);
  return {
    makespanSeconds: round(r.makespanSeconds, 0),
    ratio: round(r.makespanSeconds / bound),
    ratioToGated: round(r.makespanSeconds / gated),
    replayCpuSeconds: round((used.user + used.system) / 1e6, 1),
  };
}

const results = policies.map(({ name, input }) => {
  const gated = gatedLowerBoundSeconds(input, durations);
  const row = {
    policy: name,
    gatedLowerBoundSeconds: round(gated, 0),
    fifo: replay(input, durations, gated),
    longestFirstExact: replay(input, exact, gated),
    longestFirstNoisy: replay(input, noisy, gated),
  };
  console.log(JSON.stringify(row));
  return row;
});
// The batch policies take hosts in the plan's order, as FIFO does.
const inOrder = replayPlan(policies[0]?.input ?? base, durations).runs.map((r) => seconds[Number(r.hostId.slice(1))] ?? 0);
const barrier = batchBarrierSeconds(inOrder, slots);
const ramp = exponentialRampSeconds(inOrder, slots);
const figures = {
  workload: { ...workload, slots, predictionSigma: noise },
  totalHostSeconds: round(
    seconds.reduce((a, b) => a + b, 0),
    0,
  ),
  longestHostSeconds: round(Math.max(...seconds), 0),
  lowerBoundSeconds: round(bound, 0),
  policies: results,
  batchBarrier: { makespanSeconds: round(barrier, 0), ratio: round(barrier / bound) },
  exponentialRamp: { makespanSeconds: round(ramp, 0), ratio: round(ramp / bound) },
};
console.log(
  JSON.stringify({
    batchBarrier: figures.batchBarrier,
    exponentialRamp: figures.exponentialRamp,
    lowerBoundSeconds: figures.lowerBoundSeconds,
  }),
);
console.log(`written to ${await writeBenchResult('schedule-model', figures)}`);
