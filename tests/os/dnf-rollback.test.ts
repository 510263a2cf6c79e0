// The dnf driver's package rollback on an RPM root whose C library changes version: a
// CentOS 7 root (glibc 2.17, a shell that runs on it) migrated to openEuler 22.03 (glibc
// 2.34, a shell that needs it and a library the source does not have) and rolled back.
// The binaries are real (tests/fixtures/rpm-repos.ts, cLibrary), so a shell stranded on
// an older C library or without its library fails every scriptlet for real; the
// rollback must end with the exact package set, /etc, a clean `rpm -Va` and a shell that
// runs, also when the agent is killed in the middle of it and started again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand, treeDigest } from '@yixing/host-agent/internal';
import { osVersion, yxAgent } from '../fixtures/os-root.ts';
import { rpmQuery, rpmTestBed, SCRIPTLET_RECORDS } from '../fixtures/rpm-repos.ts';
import { yxAgentCommand } from '../fixtures/yx-agent.ts';

const { root, repos } = rpmTestBed({ cLibrary: true });

/** name.arch epoch:version-release of every installed package. */
const rpmSet = (r: string): Promise<string[]> => rpmQuery(r, '%{NAME}.%{ARCH} %{EPOCHNUM}:%{VERSION}-%{RELEASE}');

const shell = (r: string) => runCommand(['chroot', r, '/bin/sh', '-c', 'echo runs']);

/** Each installed package's %post record must name the installed version: its last %post ran. */
async function postRecords(r: string): Promise<{ recorded: Record<string, string>; installed: Record<string, string> }> {
  const q = await runCommand(['rpm', '--root', r, '-qa', '--qf', '%{NAME} %{NAME}-%{VERSION}-%{RELEASE}\n']);
  const installed = Object.fromEntries(
    q.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string])
      .filter(([name]) => !['glibc', 'ncurses-libs'].includes(name)),
  );
  const recorded: Record<string, string> = {};
  for (const name of Object.keys(installed)) {
    recorded[name] = (await readFile(path.join(r, SCRIPTLET_RECORDS, name), 'utf8').catch(() => 'no record')).trim();
  }
  return { recorded, installed };
}

async function assertRestored(r: string, before: string[], etcBefore: string): Promise<void> {
  assert.equal(await osVersion(r), '7');
  assert.deepEqual(await rpmSet(r), before, 'the exact pre-migration package set');
  assert.equal(await treeDigest(path.join(r, 'etc')), etcBefore, '/etc as backed up');
  // Files and dependencies of every package as their headers say (the operator's edit of
  // a %config file is /etc's business, checked above).
  const verify = await runCommand(['rpm', '--root', r, '-Va', '--noconfig']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.equal(verify.stdout, '');
  const sh = await shell(r);
  assert.equal(sh.code, 0, sh.stderr);
  const posts = await postRecords(r);
  assert.deepEqual(posts.recorded, posts.installed, 'every package’s %post ran, with a shell that runs');
}

test('the target shell does not run on the source release’s C library: the hazard is real', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-dnf-loader-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const reposDir = repos().dir;
  const rpms = async (sub: string) => (await readdir(path.join(reposDir, sub))).map((f) => path.join(reposDir, sub, f));
  const source = (await rpms('vault/7.9.2009/os/x86_64')).filter((f) => /\/glibc-2\.17/.test(f));
  const target = (await rpms('openeuler/openEuler-22.03-LTS/OS/x86_64')).filter((f) => /\/(bash|ncurses-libs)-/.test(f));
  const install = await runCommand(['rpm', '--root', dir, '-i', '--nodeps', '--noscripts', ...source, ...target]);
  assert.equal(install.code, 0, install.stderr);
  const sh = await shell(dir);
  assert.notEqual(sh.code, 0);
  assert.match(sh.stderr, /version `GLIBC_2\.\d+' not found \(required by \/bin\/sh\)/);
});

test('CentOS 7 → openEuler 22.03 with a new glibc rolls back exactly, the shell running at every phase', async () => {
  const r = await root();
  const before = await rpmSet(r.root);
  const etcBefore = await treeDigest(path.join(r.root, 'etc'));
  assert.ok(before.includes('glibc.x86_64 0:2.17-326.el7_9'), before.join(' '));

  const t0 = performance.now();
  const migrated = await yxAgent(['migrate', '--rollback', 'packages', ...r.args]);
  const migrateMs = performance.now() - t0;
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  const upgraded = await rpmSet(r.root);
  assert.ok(upgraded.includes('glibc.x86_64 0:2.34-70.oe2203'), upgraded.join(' '));
  assert.ok(upgraded.includes('bash.x86_64 0:5.1.8-6.oe2203'), upgraded.join(' '));
  assert.ok(upgraded.includes('ncurses-libs.x86_64 0:6.3-12.oe2203'), upgraded.join(' '));
  assert.equal((await shell(r.root)).code, 0, 'the target shell runs on the target glibc');

  const t1 = performance.now();
  const rolledBack = await yxAgent(['rollback', ...r.args]);
  const rollbackMs = performance.now() - t1;
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  await assertRestored(r.root, before, etcBefore);
  const log = await runLog(r.stateDir);
  assert.match(log, /userland phase checked: \/bin\/sh runs/);
  assert.match(log, /c-library phase checked: \/bin\/sh runs/);
  process.stderr.write(`dnf rollback with a glibc change: migrate ${Math.round(migrateMs)} ms, rollback ${Math.round(rollbackMs)} ms\n`);
});

/** The standalone run's log file (one run per state dir here), '' until it exists. */
async function runLog(stateDir: string): Promise<string> {
  const runs = path.join(stateDir, 'runs');
  const file = (await readdir(runs).catch(() => [] as string[])).find((f) => f.endsWith('.log'));
  return file ? readFile(path.join(runs, file), 'utf8') : '';
}

/**
 * `yx-agent rollback` killed, with dnf and rpm under it (the whole process group, as a
 * power cut would), as soon as its log matches `at`; how it ended.
 */
async function killedRollback(args: string[], stateDir: string, at: RegExp): Promise<string> {
  const logBefore = (await runLog(stateDir)).length;
  const [agent, ...agentArgs] = (await yxAgentCommand()) as [string, ...string[]];
  const child = spawn(agent, [...agentArgs, 'rollback', ...args], {
    stdio: 'ignore',
    detached: true,
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  let ended: string | undefined;
  void exited.then((how) => {
    ended = how;
  });
  while (ended === undefined && !at.test((await runLog(stateDir)).slice(logBefore))) await sleep(20);
  if (ended === undefined) process.kill(-(child.pid as number), 'SIGKILL');
  return exited;
}

for (const [where, at] of [
  ['in the userland transaction', /Downgrading\s*: bash-4\.2/],
  ['between the phases', /c-library transaction/],
  ['as the C library is downgraded', /Downgrading\s*: glibc-2\.17/],
] as const) {
  test(`a dnf rollback killed ${where} and started again ends exact`, async () => {
    const r = await root();
    const before = await rpmSet(r.root);
    const etcBefore = await treeDigest(path.join(r.root, 'etc'));
    const migrated = await yxAgent(['migrate', '--rollback', 'packages', ...r.args]);
    assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);

    assert.equal(await killedRollback(r.args, r.stateDir, at), 'SIGKILL', 'the rollback was killed before it ended');
    // Where exactly the kill lands is up to the scheduler; any point must be recoverable.
    process.stderr.write(`killed ${where}: ${(await rpmSet(r.root)).join(', ')}\n`);

    const again = await yxAgent(['rollback', ...r.args]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    await assertRestored(r.root, before, etcBefore);
  });
}
