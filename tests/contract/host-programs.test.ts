// Every program the code starts on this machine is in infra/dev/host-programs.ts, so the
// set-up installs it on a fresh machine (or says which one is missing) before any test.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { allHostPrograms, HOST_PROGRAMS, planInstall } from '../../infra/dev/host-programs.ts';
import { repoRoot } from '../../infra/dev/paths.ts';

const exec = promisify(execFile);

// A call of one of the ways the code starts a process, with the program as a literal:
// run('tar', …), capture('curl', …), spawn('chroot', …), runCommand(['dpkg', …]),
// mustRun(['tar', …]). Programs a migrated root runs inside itself (`root.exec([...])`) are
// the root's, not this machine's.
const CALL =
  /\b(?:(?:run|capture|spawn|spawnSync|execFile|execFileSync)\(\s*'([A-Za-z0-9_./-]+)'\s*,|(?:runCommand|mustRun)\(\s*\[\s*'([A-Za-z0-9_./-]+)')/g;

/** Tools that come from node_modules or are Node itself. */
const FROM_NPM = new Set(['node', 'biome', 'tsc', 'buf']);

export function programsStarted(source: string): string[] {
  return [...source.matchAll(CALL)].map((m) => (m[1] ?? m[2]) as string);
}

test('the scanner finds the programs of each way of starting one', () => {
  const src = [
    "await run('apt-get', ['update']);",
    "const r = await capture('curl', ['-sf']);",
    "spawn('chroot', [root, 'perl']);",
    "await runCommand(['dpkg', '--audit']);",
    "await mustRun([\n  'tar', '-cf', a, b]);",
    "await this.#root.exec(['dpkg-reconfigure']);",
    "const v0 = run('h1');",
  ].join('\n');
  assert.deepEqual(programsStarted(src), ['apt-get', 'curl', 'chroot', 'dpkg', 'tar']);
});

test('every program the code starts is in the set-up table', async () => {
  const { stdout } = await exec('git', ['ls-files', '-co', '--exclude-standard', '*.ts'], { cwd: repoRoot });
  const files = stdout.split('\n').filter((f) => f && !f.includes('/gen/'));
  const table = allHostPrograms();
  const missing: string[] = [];
  for (const file of files) {
    for (const program of programsStarted(await readFile(path.join(repoRoot, file), 'utf8'))) {
      if (!FROM_NPM.has(program) && !table.has(program)) missing.push(`${program} (${file})`);
    }
  }
  assert.deepEqual(missing, [], 'add these to infra/dev/host-programs.ts with their Debian package');
});

test('the container engine group brings iptables, which netavark needs for published ports', () => {
  assert.equal(HOST_PROGRAMS.containers.iptables?.package, 'iptables');
});

test('planInstall asks for the packages of missing programs once each, and names what no package brings', () => {
  const plan = planInstall(
    {
      podman: { package: 'podman', for: 'x' },
      iptables: { package: 'iptables', for: 'x' },
      'ip6tables-save': { package: 'iptables', for: 'x' },
      go: { package: null, for: 'building' },
      tar: { package: 'tar', for: 'x' },
    },
    (p) => p === 'tar' || p === 'podman',
  );
  assert.deepEqual(plan.packages, ['iptables']);
  assert.deepEqual(plan.unavailable, [{ program: 'go', for: 'building' }]);
});
