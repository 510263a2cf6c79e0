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
