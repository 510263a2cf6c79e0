// `npm run build:agent` is reproducible: two builds of the same sources and commit give the
// same bytes for both architectures, and the digests SHA256SUMS records are those bytes.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { buildAgent } from '../../infra/agent/build.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function buildInto(commit: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-agent-build-'));
  dirs.push(dir);
  return { dir, build: await buildAgent({ outDir: dir, commit }) };
}

test('two builds of the same commit are byte for byte the same', async () => {
  const commit = '0123456789abcdef0123456789abcdef01234567';
  const first = await buildInto(commit);
  const second = await buildInto(commit);
  assert.deepEqual(
    first.build.executables.map((e) => e.arch),
    ['x64', 'arm64'],
  );
  assert.deepEqual(
    second.build.executables.map((e) => [e.file, e.sha256]),
    first.build.executables.map((e) => [e.file, e.sha256]),
  );
  const sums = await readFile(path.join(first.dir, 'SHA256SUMS'), 'utf8');
  for (const e of first.build.executables) assert.ok(sums.includes(`${e.sha256}  ${e.file}\n`), sums);
  // The commit is part of the bytes: another one builds another executable.
  const other = await buildInto('fedcba9876543210fedcba9876543210fedcba98');
  assert.notEqual(other.build.executables[0]?.sha256, first.build.executables[0]?.sha256);
});
