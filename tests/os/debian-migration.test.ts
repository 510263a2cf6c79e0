// The apt driver on a real Debian 11 root (debootstrap, cached), with real packages from
// a local mirror served on loopback: the assessment finds planted problems and changes
// nothing; the migration reaches Debian 12 and the rollback returns exactly to Debian 11;
// an agent killed in the middle of the upgrade resumes it when started again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand, treeDigest } from '@yixing/host-agent/internal';
import { dpkgSet, freshDebianRoot, osVersion, requiredEnv, standaloneState, type TestRoot, yxAgent } from '../fixtures/os-root.ts';
import { startOtlpReceiver } from '../fixtures/otlp-receiver.ts';
import { type StaticServer, serveDirectory } from '../fixtures/static-server.ts';
import { yxAgentCommand } from '../fixtures/yx-agent.ts';

let mirror: StaticServer;
const roots: TestRoot[] = [];

before(async () => {
  mirror = await serveDirectory(requiredEnv('YX_DEBIAN_MIRROR'));
});

after(async () => {
  for (const r of roots) await r.remove();
  await mirror?.close();
});

async function root(): Promise<TestRoot> {
  const r = await freshDebianRoot();
  roots.push(r);
  return r;
}

const common = (r: TestRoot): string[] => [
  '--profile',
  'debian-11-to-12',
  '--root',
  r.root,
  '--state-dir',
  r.stateDir,
  '--mirror',
  `http://deb.debian.org=${mirror.url}`,
  '--trusted-mirrors',
];

test('the assessment reports planted problems as inhibitors and changes nothing', async () => {
  const r = await root();
  // Planted: a held package, a foreign repository, a package manager locked by an apt-get
  // waiting at its prompt, and a tiny filesystem for the downloads.
  await runCommand(['chroot', r.root, 'apt-mark', 'hold', 'gzip']);
  await writeFile(path.join(r.root, 'etc/apt/sources.list.d/vendor.list'), 'deb http://packages.vendor.invalid/debian bullseye main\n');
  // The dpkg frontend lock held the way dpkg itself takes it (an fcntl write lock), by
  // the root's own perl, as an apt-get or unattended-upgrades run in progress would.
  const holdLock =
    'use Fcntl qw(F_SETLK F_WRLCK SEEK_SET); open(my $fh, "+<", "/var/lib/dpkg/lock-frontend") or die "open: $!"; ' +
    'my $l = pack("s s x4 q q i x4", F_WRLCK, SEEK_SET, 0, 0, 0); fcntl($fh, F_SETLK, $l) or die "lock: $!"; $| = 1; print "locked\\n"; sleep 3600';
  const locker = spawn('chroot', [r.root, 'perl', '-e', holdLock], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  await new Promise<void>((resolve, reject) => {
    locker.stdout.once('data', () => resolve());
    locker.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  await runCommand(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path.join(r.root, 'var/cache/apt/archives')]);

  const before = await treeDigest(r.root);
  const run = await yxAgent(['assess', ...common(r)]);
  const afterDigest = await treeDigest(r.root);
  locker.kill('SIGKILL');

  assert.equal(run.code, 3, run.stdout + run.stderr);
  const state = await standaloneState(r.stateDir);
  const report = state.steps[0]?.report as { findings: { id: string; inhibitor: boolean; remediation: string }[]; inhibitors: number };
  const inhibitors = report.findings.filter((f) => f.inhibitor).map((f) => f.id);
  assert.ok(inhibitors.includes('held-packages'), inhibitors.join(' '));
  assert.ok(inhibitors.includes('foreign-repositories'), inhibitors.join(' '));
  assert.ok(inhibitors.includes('package-manager-locked'), inhibitors.join(' '));
  assert.ok(
    inhibitors.some((id) => id.startsWith('disk-space:') && id.includes('/var/cache/apt/archives')),
    inhibitors.join(' '),
  );
  assert.ok(
    report.findings.every((f) => !f.inhibitor || f.remediation.length > 0),
    'every inhibitor says how to fix it',
  );
  assert.equal(afterDigest, before, 'the assessment changed the root');
  assert.equal(await osVersion(r.root), '11');
});

test('Debian 11 is migrated to Debian 12, then rolled back to exactly what it was', async () => {
  const r = await root();
  const packagesBefore = await dpkgSet(r.root);
  const etcBefore = await treeDigest(path.join(r.root, 'etc'));

  // The agent exports its spans (OTEL_* inherited): apt's and dpkg's phases among them.
  const otlp = await startOtlpReceiver();
  Object.assign(process.env, otlp.env);
  let migrated: Awaited<ReturnType<typeof yxAgent>>;
  try {
    migrated = await yxAgent(['migrate', '--rollback', 'packages', ...common(r)]);
  } finally {
    for (const k of Object.keys(otlp.env)) delete process.env[k];
    await otlp.close();
  }
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  const full = otlp.spans.find((s) => s.name === 'pm transaction' && s.attributes['yx.pm.command'] === 'full-upgrade');
  const seen = otlp.spans.map((s) => `${s.name} ${s.attributes['yx.pm.command']} ${s.attributes['yx.pm.packages'] ?? ''}`).join(', ');
  assert.ok(Number(full?.attributes['yx.pm.packages']) > 0, `the full upgrade's transaction unpacked packages: ${seen}`);
  const scripts = otlp.spans.find((s) => s.name === 'pm scripts' && s.parentSpanId === full?.spanId);
  assert.ok(Number(scripts?.attributes['yx.pm.scripts']) > 0, 'its maintainer scripts and triggers, under the transaction');
  assert.equal(await osVersion(r.root), '12');
  assert.notDeepEqual(await dpkgSet(r.root), packagesBefore);
  assert.match(await readFile(path.join(r.root, 'etc/apt/sources.list'), 'utf8'), / bookworm main/);

  const rolledBack = await yxAgent(['rollback', ...common(r)]);
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  const rollbackReport = (await standaloneState(r.stateDir)).steps.find((s) => s.step === 'rollback')?.report as {
    rollback: { strategy: string };
  };
  assert.equal(rollbackReport.rollback.strategy, 'packages', 'the package set was restored, not a copy swapped back');
  assert.equal(await osVersion(r.root), '11');
  assert.deepEqual(await dpkgSet(r.root), packagesBefore, 'the dpkg package set equals the pre-migration manifest');
  assert.equal(await treeDigest(path.join(r.root, 'etc')), etcBefore, '/etc matches the backup');
  const audit = await runCommand(['dpkg', `--admindir=${r.root}/var/lib/dpkg`, '--audit']);
  assert.equal(audit.stdout.trim(), '', 'dpkg reports no half-installed package');
});

test('an agent killed in the middle of the upgrade resumes it when started again', async () => {
  const r = await root();
  const [agent, ...agentArgs] = (await yxAgentCommand()) as [string, ...string[]];
  const child = spawn(agent, [...agentArgs, 'migrate', ...common(r)], {
    stdio: 'ignore',
    detached: true,
  });
  // Kill the agent and everything under it (apt, dpkg) once dpkg is unpacking packages.
  const log = async (): Promise<string> => {
    const { readdir } = await import('node:fs/promises');
    const dir = path.join(r.stateDir, 'runs');
    const f = (await readdir(dir).catch(() => [] as string[])).find((n) => n.endsWith('.log'));
    return f ? readFile(path.join(dir, f), 'utf8') : '';
  };
  while (((await log()).match(/^.* upgrade stdout (Unpacking|Setting up) /gm) ?? []).length < 15) await sleep(20);
  process.kill(-(child.pid as number), 'SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));

  const stopped = await standaloneState(r.stateDir);
  assert.equal(stopped.end, undefined, 'the run did not claim an end');
  assert.deepEqual(
    stopped.steps.map((s) => `${s.step}:${s.status}`),
    ['precheck:succeeded', 'drain:succeeded', 'backup:succeeded', 'upgrade:running'],
    'the state says exactly where it stopped',
  );

  const resumed = await yxAgent(['migrate', ...common(r)]);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /resuming run/);
  const state = await standaloneState(r.stateDir);
  assert.equal(state.end, 'migrated');
  assert.equal(state.steps.find((s) => s.step === 'upgrade')?.resumes, 1);
  assert.equal(await osVersion(r.root), '12');
  const audit = await runCommand(['dpkg', `--admindir=${r.root}/var/lib/dpkg`, '--audit']);
  assert.equal(audit.stdout.trim(), '', 'no package left half installed');
});
