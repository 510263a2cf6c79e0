// The aarch64 agent executable (Kunpeng hosts) started on this x86_64 machine under
// qemu-user (Debian's qemu-user-static, with the aarch64 glibc of libc6-arm64-cross): it
// answers `version` and `--help` and assesses a Debian 11 root from its embedded profiles
// and rules with the findings of the x86_64 executable. Slow: qemu emulates every instruction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAgentBuild } from '../../infra/agent/build.ts';
import { assessDebianRoot, comparable } from '../fixtures/agent-executable.ts';
import { runToEnd } from '../fixtures/os-root.ts';
import { agentCommand, agentExecutable } from '../fixtures/yx-agent.ts';

test('the aarch64 executable answers version and --help under qemu', async () => {
  const build = await readAgentBuild();
  const arm64 = agentCommand(await agentExecutable('arm64'));
  const version = await runToEnd([...arm64, 'version']);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, `yx-agent ${build.version} (commit ${build.commit})\n`);
  const help = await runToEnd([...arm64, '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^ {2}yx-agent assess\b/m);
});

test('the aarch64 executable assesses a Debian 11 root under qemu as the x86_64 one does', async () => {
  const arm64 = await assessDebianRoot(agentCommand(await agentExecutable('arm64')));
  assert.equal(arm64.run.code, 0, arm64.run.stdout + arm64.run.stderr);
  assert.equal(arm64.report.profile, 'debian-11-to-12');
  assert.ok(
    arm64.report.findings.some((f) => f.id === 'enabled-services'),
    arm64.report.findings.map((f) => f.id).join(' '),
  );
  const x64 = await assessDebianRoot(agentCommand(await agentExecutable('x64')));
  assert.equal(x64.run.code, 0, x64.run.stdout + x64.run.stderr);
  assert.deepEqual(comparable(arm64), comparable(x64));
});
