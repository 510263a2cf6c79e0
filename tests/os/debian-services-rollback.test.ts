// The package rollback on a Debian 11 root with real services (nginx, PostgreSQL 13 and
// its cluster, exim4, cron) and operator-edited configuration, as a real host has them:
// migrated to Debian 12 once, then rolled back by the `packages` strategy from that same
// migrated state in each test — to the end, and killed (the whole process group) in the
// middle of its userland phase and of its C library phase, then started again. Each ends
// with exactly the pre-migration packages and /etc, `dpkg --audit` clean and the services'
// programs running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand, treeDigest } from '@yixing/host-agent/internal';
import { DEBIAN_SERVICES } from '../../infra/dev/os-roots.ts';
import { debianAgent } from '../fixtures/debian-agent.ts';
import { type AgentRun, dpkgSet, osVersion, standaloneState, type TestRoot, yxAgent } from '../fixtures/os-root.ts';
import { yxAgentCommand } from '../fixtures/yx-agent.ts';

const agent = debianAgent();
let r: TestRoot;
/** The migrated root and its agent state, to start each test from. */
let migratedTar: string;
const before11 = { packages: [] as string[], etc: '' };

const common = (): string[] => agent.args(r);

async function mustRun(argv: string[]): Promise<string> {
  const out = await runCommand(argv);
  if (out.code !== 0) throw new Error(`${argv.join(' ')} exited with ${out.code}: ${out.stderr || out.stdout}`);
  return out.stdout + out.stderr;
}

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

before(async () => {
  r = await agent.root('services');
  before11.packages = await dpkgSet(r.root);
  before11.etc = await treeDigest(path.join(r.root, 'etc'));
  const t0 = performance.now();
  const migrated = await yxAgent(['migrate', '--rollback', 'packages', ...common()]);
  if (migrated.code !== 0) throw new Error(`the migration failed (${migrated.code}): ${migrated.stdout}${migrated.stderr}`);
  process.stderr.write(`services root (${before11.packages.length} packages) migrated to Debian 12 in ${seconds(t0)}\n`);
  migratedTar = path.join(r.dir, 'migrated.tar');
  await mustRun(['tar', '--numeric-owner', '-cpf', migratedTar, '-C', r.dir, 'root', 'state']);
});

/** The root and the agent's state back to right after the migration (same paths: the run is keyed by them). */
async function fromMigrated(): Promise<void> {
  for (const m of ['dev/pts', 'dev', 'proc']) await runCommand(['umount', '-l', path.join(r.root, m)]);
  await rm(r.root, { recursive: true, force: true });
  await rm(r.stateDir, { recursive: true, force: true });
  await mkdir(r.dir, { recursive: true });
  await mustRun(['tar', '--numeric-owner', '-xpf', migratedTar, '-C', r.dir]);
}

async function runLog(): Promise<string> {
  const dir = path.join(r.stateDir, 'runs');
  const f = (await readdir(dir).catch(() => [] as string[])).find((n) => n.endsWith('.log'));
  return f ? readFile(path.join(dir, f), 'utf8') : '';
}

/** Exactly the root before the migration, and its services' programs run. */
async function assertAsBefore(rolledBack: AgentRun): Promise<void> {
  if (rolledBack.code !== 0) {
    // The agent's output names the failed command; the run's log says what dpkg did before it.
    const tail = (await runLog()).split('\n').slice(-80).join('\n');
    assert.fail(`the rollback exited with ${rolledBack.code}: ${rolledBack.stdout}${rolledBack.stderr}\nthe run's log ends:\n${tail}`);
  }
  assert.equal(await osVersion(r.root), '11');
  assert.deepEqual(await dpkgSet(r.root), before11.packages, 'the dpkg package set (name:arch=version) equals the pre-migration one');
  assert.equal(await treeDigest(path.join(r.root, 'etc')), before11.etc, '/etc is exactly as before the migration');
  const audit = await runCommand(['dpkg', `--admindir=${r.root}/var/lib/dpkg`, '--audit']);
  assert.equal(audit.stdout.trim(), '', 'dpkg --audit is clean');
  assert.match(await mustRun(['chroot', r.root, '/usr/sbin/nginx', '-v']), /nginx\/1\.18\./);
  assert.match(await mustRun(['chroot', r.root, '/usr/sbin/nginx', '-t']), /test is successful/);
  assert.match(await mustRun(['chroot', r.root, '/usr/lib/postgresql/13/bin/postgres', '--version']), /PostgreSQL\) 13\./);
  assert.match(await mustRun(['chroot', r.root, 'pg_lsclusters']), /^13\s+main\s/m);
  assert.match(await mustRun(['chroot', r.root, '/usr/sbin/exim4', '-bV']), /Exim version 4\.94/);
  await mustRun(['chroot', r.root, 'test', '-x', '/usr/sbin/cron']);
}

test('the services root migrates to Debian 12 keeping the edits, and rolls back by packages to exactly what it was', async () => {
  await fromMigrated();
  assert.equal(await osVersion(r.root), '12');
  assert.match(await mustRun(['chroot', r.root, '/usr/sbin/nginx', '-v']), /nginx\/1\.22\./);
  for (const [file, edit] of Object.entries(DEBIAN_SERVICES.edits)) {
    const text = await readFile(path.join(r.root, file), 'utf8');
    assert.ok(text.includes((edit.write ?? edit.append) as string), `the operator's edit of /${file} is kept by the migration`);
  }
  const t0 = performance.now();
  const rolledBack = await yxAgent(['rollback', ...common()]);
  process.stderr.write(`services root rolled back by packages in ${seconds(t0)}\n`);
  await assertAsBefore(rolledBack);
  const log = await runLog();
  const userland = log.indexOf('restore userland pass 1');
  const cLibrary = log.indexOf('restore c-library pass 1');
  assert.ok(userland >= 0 && cLibrary > userland, 'the userland phase ran before the C library phase');
  assert.ok(
    log.indexOf('Unpacking libc6:amd64 (2.31') > cLibrary,
    'the older libc6 was unpacked only in the C library phase, after every other package was back',
  );
});

for (const [where, killAt] of [
  // dpkg unpacking the userland's older packages (apt's 40th unpack).
  ['its userland phase', (log: string) => (log.match(/^.* rollback stdout Unpacking /gm) ?? []).length >= 40],
  // dpkg unpacking the C library: libc6 2.31 over 2.36, libc-bin and locales not yet.
  ['its C library phase', (log: string) => /rollback stdout Unpacking libc6:amd64 \(2\.31/.test(log)],
] as const) {
  test(`a rollback killed in ${where} ends exactly as before when started again`, async () => {
    await fromMigrated();
    const [agent, ...agentArgs] = (await yxAgentCommand()) as [string, ...string[]];
    const child = spawn(agent, [...agentArgs, 'rollback', ...common()], {
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (!done && !killAt(await runLog())) await sleep(5);
    assert.equal(done, false, 'the rollback ended before it reached the point to kill it at');
    process.kill(-(child.pid as number), 'SIGKILL');
    await exited;

    const stopped = await standaloneState(r.stateDir);
    assert.equal(stopped.steps.find((s) => s.step === 'rollback')?.status, 'running', 'the state says the rollback was cut short');
    const t0 = performance.now();
    const resumed = await yxAgent(['rollback', ...common()]);
    const recovery = (await runLog()).split('\n').filter((l) => /interrupted:|second pass/.test(l));
    process.stderr.write(`rollback killed in ${where}, started again: finished in ${seconds(t0)}\n${recovery.join('\n')}\n`);
    await assertAsBefore(resumed);
    assert.equal((await standaloneState(r.stateDir)).steps.find((s) => s.step === 'rollback')?.status, 'succeeded');
  });
}
