// The x86_64 agent executable the set-up compiled (npm run build:agent): its bytes are the
// ones SHA256SUMS names; each executable, x86_64 and aarch64, needs nothing newer than
// glibc 2.17 (EL7, BC-Linux 7) and no library outside glibc; the x86_64 one answers
// `version` and `--help` and assesses a Debian 11 root from the profiles and knowledge rules
// embedded in it, reaching the findings the Node entry point reaches.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { readAgentBuild } from '../../infra/agent/build.ts';
import { glibcProblems, highestGlibc, OLDEST_GLIBC } from '../../infra/agent/glibc-check.ts';
import { repoRoot } from '../../infra/dev/paths.ts';
import { assessDebianRoot, comparable } from '../fixtures/agent-executable.ts';
import { runToEnd } from '../fixtures/os-root.ts';
import { agentCommand, agentExecutable, nodeEntryCommand } from '../fixtures/yx-agent.ts';

const exec = promisify(execFile);
const objdump = async (args: string[]): Promise<string> => (await exec('objdump', args, { maxBuffer: 256 * 2 ** 20 })).stdout;

for (const arch of ['x64', 'arm64'] as const) {
  test(`the ${arch} executable needs nothing newer than glibc ${OLDEST_GLIBC} and no library outside glibc`, async () => {
    const exe = await agentExecutable(arch);
    const [symbols, headers] = await Promise.all([objdump(['-T', exe.path]), objdump(['-p', exe.path])]);
    assert.deepEqual(glibcProblems(symbols, headers), [], exe.path);
    // objdump read versioned symbols at all (an empty list proves nothing).
    assert.ok(highestGlibc(symbols), `${exe.path}: no GLIBC_ symbol versions read`);
    assert.match(headers, /NEEDED\s+libc\.so\.6/);
  });
}

test('the glibc check refuses a program that needs a newer glibc and libstdc++ (this Node)', async () => {
  const [symbols, headers] = await Promise.all([objdump(['-T', process.execPath]), objdump(['-p', process.execPath])]);
  const problems = glibcProblems(symbols, headers).join('\n');
  assert.match(problems, /GLIBC_2\.(2[89]|[3-9]\d)/);
  assert.match(problems, /needs libstdc\+\+\.so\.6, a library outside glibc/);
});

test('yx-agent version names the package version and the commit it was built from', async () => {
  const build = await readAgentBuild();
  const { version } = JSON.parse(await readFile(path.join(repoRoot, 'services/host-agent/package.json'), 'utf8')) as { version: string };
  assert.equal(build.version, version);
  const compiled = await runToEnd([...agentCommand(await agentExecutable('x64')), 'version']);
  assert.equal(compiled.code, 0, compiled.stderr);
  assert.equal(compiled.stdout, `yx-agent ${version} (commit ${build.commit})\n`);
  assert.match(build.commit, /^[0-9a-f]{40}(-dirty)?$/);
  // From a checkout, on Node, no commit was embedded.
  const fromCheckout = await runToEnd([...nodeEntryCommand(), 'version']);
  assert.equal(fromCheckout.stdout, `yx-agent ${version} (commit dev)\n`);
});

test('yx-agent --help prints the standalone commands', async () => {
  const r = await runToEnd([...agentCommand(await agentExecutable('x64')), '--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const c of ['migrate', 'assess', 'rollback', 'version']) assert.match(r.stdout, new RegExp(`^  yx-agent ${c}\\b`, 'm'));
});

test('the x64 executable assesses a Debian 11 root from its embedded profiles and rules, as the Node entry point does', async () => {
  const compiled = await assessDebianRoot(agentCommand(await agentExecutable('x64')));
  assert.equal(compiled.run.code, 0, compiled.run.stdout + compiled.run.stderr);
  assert.equal(compiled.report.profile, 'debian-11-to-12');
  const ids = compiled.report.findings.map((f) => f.id);
  // From the embedded knowledge rules, and from the target release's mirror.
  assert.ok(ids.includes('enabled-services'), ids.join(' '));
  assert.ok(ids.includes('packages-not-in-target'), ids.join(' '));
  const node = await assessDebianRoot(nodeEntryCommand());
  assert.equal(node.run.code, 0, node.run.stdout + node.run.stderr);
  assert.deepEqual(comparable(compiled), comparable(node));
});
