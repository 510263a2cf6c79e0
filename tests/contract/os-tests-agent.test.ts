// The OS tests run the agent that ships: the compiled executable (tests/fixtures/yx-agent.ts),
// never the Node entry point of the checkout, which would hide what only the compiled one
// gets wrong (embedded files, the runtime's child processes and signals).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../infra/dev/paths.ts';

const NODE_ENTRY = /services\/host-agent\/src\/main\.ts|runNodeScript\(/;

export function startsNodeEntry(source: string): boolean {
  return NODE_ENTRY.test(source);
}

test('the scanner sees the Node entry point however it is started', () => {
  assert.ok(startsNodeEntry("spawn(process.execPath, [path.join(repoRoot, 'services/host-agent/src/main.ts'), 'migrate'])"));
  assert.ok(startsNodeEntry("main: 'services/host-agent/src/main.ts',"));
  assert.ok(startsNodeEntry('return runNodeScript(script, args);'));
  assert.ok(!startsNodeEntry('const [agent, ...args] = await yxAgentCommand();'));
});

test('no OS test, nor the fixture they run the agent with, starts the Node entry point', async () => {
  const dir = path.join(repoRoot, 'tests', 'os');
  const files = [
    ...(await readdir(dir)).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f)),
    path.join(repoRoot, 'tests', 'fixtures', 'yx-agent.ts'),
    path.join(repoRoot, 'tests', 'fixtures', 'os-root.ts'),
  ];
  const found: string[] = [];
  for (const f of files) {
    // yx-agent.ts names the entry point once, for the tests that compare the two; os-root.ts
    // defines runNodeScript, for the chaos tests' own scripts.
    const source = (await readFile(f, 'utf8'))
      .replace(/export const nodeEntryCommand = [^\n]*\n/, '')
      .replace(/export function runNodeScript\(/, '');
    if (startsNodeEntry(source)) found.push(path.relative(repoRoot, f));
  }
  assert.deepEqual(found, [], 'these start the agent from the checkout instead of the compiled executable');
});
