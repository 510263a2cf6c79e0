// The bus contract: proto/ lints clean and the generated code in services/common is what
// `buf generate` makes of proto/ now (regenerate with `npm run proto:generate`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../../infra/dev/paths.ts';

const exec = promisify(execFile);
const GEN = 'services/common/src/gen';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

test('proto/ passes buf lint', async () => {
  await exec('buf', ['lint'], { cwd: repoRoot });
});

test('generated code is fresh', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'yx-proto-'));
  try {
    await exec('buf', ['generate', '-o', out], { cwd: repoRoot });
    const committedDir = path.join(repoRoot, GEN);
    const freshDir = path.join(out, GEN);
    const [committed, fresh] = await Promise.all([listFiles(committedDir), listFiles(freshDir)]);
    assert.deepEqual(committed, fresh, `files under ${GEN} differ from buf generate; run npm run proto:generate`);
    for (const f of fresh) {
      const [a, b] = await Promise.all([readFile(path.join(committedDir, f), 'utf8'), readFile(path.join(freshDir, f), 'utf8')]);
      assert.equal(a, b, `${GEN}/${f} is stale; run npm run proto:generate`);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('every routed subject is unique and every catalog entry has a schema', async () => {
  const { catalog } = await import('@yixing/common');
  const subjects = Object.values(catalog).map((r) => r.subject);
  assert.equal(new Set(subjects).size, subjects.length);
  for (const [name, route] of Object.entries(catalog)) {
    assert.ok(route.subject.startsWith('yx.v1.'), `${name}: subject ${route.subject} is not versioned`);
    assert.equal(route.schema.typeName, route.typeName);
  }
});
