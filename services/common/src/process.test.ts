import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const processModule = fileURLToPath(new URL('./process.ts', import.meta.url));
const metricsModule = fileURLToPath(new URL('./metrics.ts', import.meta.url));

test('a service survives a promise rejection nobody handled, and logs and counts it', () => {
  // A service main whose fire-and-forget write fails (a database blip), then goes on working.
  const script = `
    import { runMain, unhandledRejections } from ${JSON.stringify(processModule)};
    import { createRegistry } from ${JSON.stringify(metricsModule)};
    runMain('yx-test', async () => {
      void Promise.reject(new Error('database blip'));
      await new Promise((r) => setTimeout(r, 100));
      process.stdout.write('still running; unhandled=' + unhandledRejections() + '\\n');
      process.stdout.write(await createRegistry('yx-test', { processMetrics: false }).metrics());
    });
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, `the process ended: ${child.stderr}`);
  assert.match(child.stdout, /still running; unhandled=1/);
  assert.match(child.stdout, /^yx_unhandled_rejections_total\{service="yx-test"\} 1$/m);
  const logged = child.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; err: string; stack?: string });
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.err, 'database blip');
  assert.equal(logged[0]?.level, 50, 'logged as an error');
  assert.match(logged[0]?.stack ?? '', /database blip/);
});

test('a stop that hangs (its server gone) ends the process after the grace time, with 1', () => {
  const script = `
    import { stopOnSignalsWithin } from ${JSON.stringify(processModule)};
    stopOnSignalsWithin(300, async () => { process.stdout.write('stopping\\n'); }, () => new Promise(() => undefined));
    setInterval(() => undefined, 1000);
    process.stdout.write('ready\\n');
    process.kill(process.pid, 'SIGTERM');
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 1, `exit ${child.status} ${child.signal}: ${child.stderr}`);
  assert.match(child.stdout, /ready\nstopping\n/);
  assert.match(child.stderr, /the stop did not finish within 300 ms: exiting/);
});

test('a stop that finishes exits 0', () => {
  const script = `
    import { stopOnSignalsWithin } from ${JSON.stringify(processModule)};
    stopOnSignalsWithin(10_000, async () => { process.stdout.write('stopped\\n'); });
    setInterval(() => undefined, 1000);
    process.kill(process.pid, 'SIGTERM');
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, 'stopped\n');
});
