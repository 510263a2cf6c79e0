// The standalone commands load only what they use: loading all of @yixing/common (mongoose,
// the NATS client, metrics, the tracing SDK) cost about a second of every `yx-agent
// migrate` (BENCHMARKS.md, Debian 11 → 12).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withTempDir } from '../os/durable-file.testing.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(here, '..', 'main.ts');
const HOOK = path.join(here, 'loaded-modules.testing.ts');

/** Packages a standalone command has no use for; any of them loaded is start-up time wasted. */
const NOT_NEEDED = ['mongoose', 'mongodb', '@nats-io/', 'prom-client', 'pino', '@opentelemetry/sdk-', 'fastify'];

async function loadedBy(args: string[]): Promise<{ code: number | null; modules: string[]; output: string }> {
  return withTempDir(async (dir) => {
    const file = path.join(dir, 'loaded.txt');
    const env: NodeJS.ProcessEnv = { ...process.env, YX_LOADED_MODULES_FILE: file };
    delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    const r = spawnSync(process.execPath, ['--import', HOOK, MAIN, ...args], { env, encoding: 'utf8' });
    return { code: r.status, modules: readFileSync(file, 'utf8').split('\n'), output: r.stdout + r.stderr };
  });
}

function unneeded(modules: string[]): string[] {
  return modules.filter((url) => NOT_NEEDED.some((name) => url.includes(`/node_modules/${name}`)));
}

test('yx-agent migrate --help loads none of the bus, database, metrics or tracing SDK packages', async () => {
  const r = await loadedBy(['migrate', '--help']);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /yx-agent migrate --profile NAME/);
  // It did load the migration's own modules (the hook saw the graph), only not those.
  assert.ok(
    r.modules.some((url) => url.endsWith('/pm/apt.ts')),
    r.modules.join('\n'),
  );
  assert.deepEqual(unneeded(r.modules), []);
});

test('yx-agent migrate that reads its profiles and rules before stopping loads none of them either', async () => {
  await withTempDir(async (dir) => {
    const r = await loadedBy(['migrate', '--profile', 'debian-11-to-12', '--root', path.join(dir, 'absent'), '--state-dir', dir]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /--root .*absent does not exist/);
    assert.deepEqual(unneeded(r.modules), []);
  });
});

test('yx-agent version loads no package at all', async () => {
  const r = await loadedBy(['version']);
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(
    r.modules.filter((url) => url.includes('/node_modules/')),
    [],
  );
});
