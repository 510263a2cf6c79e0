// Tests reach a service through its package: `@yixing/<service>` (src/mod.ts, the public
// surface) or `@yixing/<service>/internal` (src/internal_mod.ts, one barrel for tests),
// never a file deep inside it, so moving a file inside a service breaks no test. Unit
// tests beside the code import their neighbours and are not scanned.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../infra/dev/paths.ts';

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]/g;

export function deepServiceImports(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((m) => m[1] as string).filter((s) => /(^|\/)services\//.test(s));
}

test('the scanner finds static and dynamic imports of files inside services/', () => {
  const src = [
    "import { a } from '../../services/scheduler/src/db/models.ts';",
    "const { run } = await import('../../services/cli/src/app.ts');",
    "import { b } from '@yixing/scheduler/internal';",
    "import { c } from '../fixtures/services.ts';",
  ].join('\n');
  assert.deepEqual(deepServiceImports(src), ['../../services/scheduler/src/db/models.ts', '../../services/cli/src/app.ts']);
});

test('tests/ import services only through their packages', async () => {
  const dir = path.join(repoRoot, 'tests');
  const found: string[] = [];
  const files = (await readdir(dir, { recursive: true })).filter(
    (f) => f.endsWith('.ts') && f !== path.join('contract', 'imports.test.ts'),
  );
  for (const file of files.sort()) {
    for (const s of deepServiceImports(await readFile(path.join(dir, file), 'utf8'))) found.push(`tests/${file}: ${s}`);
  }
  assert.deepEqual(found, [], 'import from @yixing/<service> or @yixing/<service>/internal (add the export there)');
});
