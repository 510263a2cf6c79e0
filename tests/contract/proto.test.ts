// The bus contract: proto/ lints clean, breaks nothing a landed state of it promised
// (`buf breaking`, baseline chosen in infra/proto/breaking.ts), and the generated code in
// services/common is what `buf generate` makes of proto/ now (`npm run proto:generate`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../../infra/dev/paths.ts';
import { breakingArgs, protoBaseline } from '../../infra/proto/breaking.ts';

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

test('proto/ breaks no field, message or enum of its baseline (buf breaking)', async (t) => {
  const baseline = await protoBaseline(repoRoot);
  const args = breakingArgs(baseline);
  t.diagnostic(`baseline: ${baseline.why}`);
  if (!args) return;
  await exec('buf', args, { cwd: repoRoot });
});

test('a removed field fails buf breaking against HEAD', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-breaking-'));
  try {
    await cp(path.join(repoRoot, 'buf.yaml'), path.join(dir, 'buf.yaml'));
    await cp(path.join(repoRoot, 'proto'), path.join(dir, 'proto'), { recursive: true });
    const file = path.join(dir, 'proto/yixing/v1/plan.proto');
    const text = await readFile(file, 'utf8');
    const without = text.replace(/^ {2}double at_ms = 6;\n/m, '');
    assert.notEqual(without, text, 'RunFinished.at_ms is where the test expects it');
    await writeFile(file, without);
    const head = (await exec('git', ['rev-parse', 'HEAD'], { cwd: repoRoot })).stdout.trim();
    const args = breakingArgs({ sha: head, why: 'HEAD' }, { input: dir, gitDir: path.join(repoRoot, '.git') }) as string[];
    await assert.rejects(exec('buf', args, { cwd: repoRoot }), (err: { stdout: string }) =>
      /"at_ms".*"RunFinished".*deleted/.test(err.stdout),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
