// Fleet rehearsal benchmark (not a test): N simulated hosts migrated by one plan, on the
// embedded default (nats-server and FerretDB as local processes). Prints the makespan
// against the ideal (the lower bound given the plan's limits and the simulated step
// durations), and the scheduler's CPU seconds and peak RSS.
//
//   npm run bench -- --hosts 10000
import { parseArgs } from 'node:util';
import { idealSeconds, rehearsalArgs, rehearsalOptions, rehearsalShape, round, runRehearsal } from './rehearsal.ts';
import { writeBenchResult } from './results.ts';

async function main(): Promise<void> {
  const o = rehearsalOptions(parseArgs({ options: rehearsalArgs() }).values);
  const r = await runRehearsal(o);
  const { perHost, ideal } = idealSeconds(o);
  const result = {
    ...rehearsalShape(o),
    perHostSeconds: perHost,
    registerSeconds: r.registerSeconds,
    makespanSeconds: r.makespanSeconds,
    idealSeconds: round(ideal),
    makespanOverIdeal: round(r.makespanSeconds / ideal, 2),
    schedulerCpuSeconds: round(r.schedulerCpuSeconds),
    schedulerPeakRssMiB: r.schedulerPeakRssMiB,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await writeBenchResult('fleet', result);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
