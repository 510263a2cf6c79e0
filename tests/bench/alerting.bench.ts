// What one dispatcher tick costs in CPU as the number of alerts grows: every tick groups
// all the alerts in view (silences, inhibition, routes) and decides every group, on every
// replica. Pure work, measured in process on synthetic alerts shaped like a big wave's
// failures (300 hosts a wave, a plan every 10 waves), with a silence and an inhibit rule.
//
//   node tests/bench/alerting.bench.ts [--sizes 1000,10000,100000] [--rounds 5]
import { parseArgs } from 'node:util';
import { checkAlertingConfig, decideGroup, fingerprint, groupAlerts, parseMatchers } from '@yixing/alerting/internal';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '1000,10000,100000' }, rounds: { type: 'string', default: '5' } },
});
const sizes = (values.sizes ?? '').split(',').map(Number);
const rounds = Number(values.rounds);

const { config } = checkAlertingConfig({
  route: {
    receiver: 'ops',
    group_by: ['plan', 'wave', 'alertname'],
    routes: [{ matchers: ['severity="critical"'], receiver: 'pager', continue: true }],
  },
  receivers: [{ name: 'ops' }, { name: 'pager' }],
  inhibit_rules: [{ source_matchers: ['alertname="ErrorBudgetExhausted"'], target_matchers: ['alertname="StepFailed"'], equal: ['plan'] }],
});
if (!config) throw new Error('the bench configuration does not check');

function alertsOf(n: number, now: number) {
  return Array.from({ length: n }, (_, i) => {
    const labels = {
      alertname: i % 50 === 0 ? 'AgentLost' : 'StepFailed',
      severity: i % 50 === 0 ? 'critical' : 'warning',
      plan: `p${Math.floor(i / 3000)}`,
      wave: String(Math.floor(i / 300) % 10),
      host: `h${i}`,
      step: 'upgrade',
      failure_code: 'DNF_TRANSACTION_FAILED',
    };
    return {
      alert: {
        fingerprint: fingerprint(labels),
        labels,
        annotations: { summary: `h${i} failed` },
        startsAt: now - 60_000,
        endsAt: null,
        link: '',
      },
      status: 'firing' as const,
      acknowledged: i % 7 === 0,
    };
  });
}

const silences = [
  { id: 's1', matchers: parseMatchers('plan="p0", wave="3"'), startsAt: 0, endsAt: Number.MAX_SAFE_INTEGER, createdBy: 'b', comment: '' },
];
const figures: { alerts: number; groups: number; tickMs: number; usPerAlert: number }[] = [];
// A warm-up, so the first size is not measured with a cold JIT.
{
  const now = Date.now();
  const warm = alertsOf(sizes[0] ?? 1000, now);
  for (let r = 0; r < 3; r++)
    groupAlerts({ alerts: warm, tree: config.routing.route, silences, inhibitRules: config.routing.inhibitRules, now });
}
for (const n of sizes) {
  const now = Date.now();
  const alerts = alertsOf(n, now);
  let best = Number.POSITIVE_INFINITY;
  let groupsSeen = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const groups = groupAlerts({ alerts, tree: config.routing.route, silences, inhibitRules: config.routing.inhibitRules, now });
    for (const g of groups.values()) decideGroup(g, undefined, now - 120_000, {}, now);
    best = Math.min(best, performance.now() - t0);
    groupsSeen = groups.size;
  }
  figures.push({ alerts: n, groups: groupsSeen, tickMs: Number(best.toFixed(1)), usPerAlert: Number(((best * 1000) / n).toFixed(2)) });
  process.stdout.write(`${n} alerts, ${groupsSeen} groups: a tick ${best.toFixed(1)} ms (${((best * 1000) / n).toFixed(2)} µs an alert)\n`);
}
const [small, big] = [figures[0], figures.at(-1)];
const growth = small && big ? big.usPerAlert / small.usPerAlert : 0;
process.stdout.write(`per-alert cost at ${big?.alerts} ÷ at ${small?.alerts}: ${growth.toFixed(2)}\n`);
const file = await writeBenchResult('alerting', { rounds, sizes: figures, perAlertGrowth: Number(growth.toFixed(2)) });
process.stdout.write(`figures: ${file}\n`);
