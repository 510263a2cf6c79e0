// The yixing-agent RPM and deb (infra/agent/package.ts), with the real rpm and dpkg: the RPM
// installs into a CentOS 7 test root (real glibc and /bin/sh, rpm's dependency check on),
// is upgraded to a newer build and erased; the deb likewise in the Debian 11 test root,
// then purged. Host edits to agent.env and the state directory survive upgrade and
// removal; the executable inside runs; the scriptlets never enable the unit, restart it on
// upgrade and disable and stop it on removal (a recording systemctl stands in for systemd,
// which no test root runs); the unit passes `systemd-analyze verify`; EL7 can meet every
// requirement of both RPMs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { mustRun, runCommand } from '@yixing/host-agent/internal';
import { el7RequireProblems } from '../../infra/agent/el7-requires.ts';
import { buildPackages } from '../../infra/agent/package.ts';
import { PACKAGE_PATHS, UNIT_NAME } from '../../infra/agent/package-files.ts';
import {
  addCoreutils,
  buildTestPackages,
  inChroot,
  recordSystemctl,
  rpmFileDigests,
  rpmQueryPackage,
  sha256,
  type TestPackages,
  unpackDeb,
  withRootMounts,
} from '../fixtures/agent-packages.ts';
import { freshDebianRoot } from '../fixtures/os-root.ts';
import { rpmTestBed } from '../fixtures/rpm-repos.ts';

const bed = rpmTestBed({ cLibrary: true });
let packages: TestPackages;
const cleanup: (() => Promise<void>)[] = [];
before(async () => {
  packages = await buildTestPackages();
  cleanup.push(() => packages.remove());
});
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

const inRoot = (root: string, p: string): string => path.join(root, p);
const mode = async (file: string): Promise<string> => ((await stat(file)).mode & 0o7777).toString(8);
const EDIT = '\nYX_NATS_URL=nats://nats.example.test:4222\nYX_LABELS=pool=shop,zone=a\n';
const CREDS = 'a credential enrolment wrote\n';

function agentVersionLine(kind: 'rpm' | 'deb', release: '1' | '2'): string {
  const p = packages.built(kind, 'x64', release);
  return `yx-agent ${p.version} (commit ${p.commit})\n`;
}

for (const arch of ['x64', 'arm64'] as const) {
  test(`the ${arch} RPM and deb hold that architecture's executable, and EL7 meets every requirement of the RPM`, async () => {
    const rpm = packages.get('rpm', arch, '1');
    const deb = packages.get('deb', arch, '1');
    const exe = { sha256: packages.built('rpm', arch, '1').executableSha256 };
    assert.equal(packages.built('deb', arch, '1').executableSha256, exe.sha256);
    const [rpmArch] = await rpmQueryPackage(rpm, ['--qf', '%{ARCH} %{PAYLOADCOMPRESSOR}\\n']);
    assert.equal(rpmArch, `${arch === 'x64' ? 'x86_64' : 'aarch64'} gzip`);
    assert.equal((await rpmFileDigests(rpm)).get(PACKAGE_PATHS.executable), exe.sha256);
    // EL7's rpm 4.11 checks a package by its MD5 and SHA1 digests and 32-bit sizes: all there.
    const [digests] = await rpmQueryPackage(rpm, ['--qf', '%{SIGMD5} %{SHA1HEADER} %{SIGSIZE}\\n']);
    assert.match(digests ?? '', /^[0-9a-f]{32} [0-9a-f]{40} [0-9]+$/);
    const requires = await rpmQueryPackage(rpm, ['--requires']);
    assert.deepEqual(el7RequireProblems(requires, await rpmQueryPackage(rpm, ['--provides'])), []);
    // The executable's own needs are in (rpmbuild read them from the ELF), not nothing.
    assert.ok(
      requires.some((r) => r.startsWith('libc.so.6(GLIBC_2.17)')),
      requires.join('\n'),
    );
    const fields = await mustRun(['dpkg-deb', '-f', deb, 'Architecture', 'Version', 'Depends']);
    assert.equal(fields.stdout, `Architecture: ${arch === 'x64' ? 'amd64' : 'arm64'}\nVersion: 0.1.0-1\nDepends: libc6 (>= 2.17)\n`);
    const unpacked = await unpackDeb(deb);
    cleanup.push(() => rm(unpacked, { recursive: true, force: true }));
    assert.equal(await sha256(path.join(unpacked, PACKAGE_PATHS.executable)), exe.sha256);
  });
}

test('the unit, as the deb installs it beside the executable, passes systemd-analyze verify', async () => {
  const root = await unpackDeb(packages.get('deb', 'x64', '1'));
  cleanup.push(() => rm(root, { recursive: true, force: true }));
  // The targets the unit refers to (network-online, multi-user), from this machine's systemd.
  await cp('/usr/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'), { recursive: true });
  const r = await runCommand(['systemd-analyze', 'verify', `--root=${root}`, UNIT_NAME]);
  assert.equal(r.code, 0, r.stderr);
  // verify only warns (exit 0) about an unknown or misspelt directive: it must say nothing.
  assert.equal(r.stderr + r.stdout, '');
  const unit = await readFile(path.join(root, PACKAGE_PATHS.debUnit), 'utf8');
  assert.match(unit, /^Restart=on-failure$/m);
  // The paths the packages install, which the unit file names as text.
  for (const line of [
    `ExecStart=${PACKAGE_PATHS.executable}`,
    `EnvironmentFile=${PACKAGE_PATHS.config}`,
    `YX_STATE_DIR=${PACKAGE_PATHS.stateDir}`,
  ])
    assert.ok(
      unit.split('\n').some((l) => l.endsWith(line)),
      line,
    );
  // Nothing that stops a root agent from rewriting the OS (reasons in the unit's comments).
  for (const d of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'RestrictSUIDSGID'])
    assert.doesNotMatch(unit, new RegExp(`^${d}=`, 'm'));
  // The RPM installs the same unit.
  assert.equal(
    (await rpmFileDigests(packages.get('rpm', 'x64', '1'))).get(PACKAGE_PATHS.rpmUnit),
    await sha256(path.join(root, PACKAGE_PATHS.debUnit)),
  );
});

test('the RPM installs into a CentOS 7 root, upgrades to a newer build and erases, keeping agent.env edits and the state', async () => {
  const { root } = await bed.root();
  await addCoreutils(root);
  const calls = await recordSystemctl(root);
  // With /dev and /proc, as a host has them: the scriptlets write to /dev/null.
  const rpm = (args: string[]) => withRootMounts(root, () => runCommand(['rpm', '--root', root, ...args]));

  const installed = await rpm(['-i', packages.get('rpm', 'x64', '1')]);
  assert.equal(installed.code, 0, installed.stderr);
  assert.equal((await rpm(['-q', 'yixing-agent'])).stdout, 'yixing-agent-0.1.0-1.x86_64\n');
  assert.equal(await mode(inRoot(root, PACKAGE_PATHS.executable)), '755');
  assert.equal(await mode(inRoot(root, PACKAGE_PATHS.config)), '600');
  assert.equal(await mode(inRoot(root, PACKAGE_PATHS.stateDir)), '700');
  assert.ok(existsSync(inRoot(root, PACKAGE_PATHS.rpmUnit)));
  // Installed, never enabled nor started: enrolment does that.
  assert.deepEqual(await calls(), ['daemon-reload']);
  const version = await inChroot(root, [PACKAGE_PATHS.executable, 'version']);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, agentVersionLine('rpm', '1'));

  await appendFile(inRoot(root, PACKAGE_PATHS.config), EDIT);
  const edited = await readFile(inRoot(root, PACKAGE_PATHS.config), 'utf8');
  await writeFile(inRoot(root, `${PACKAGE_PATHS.stateDir}/bus.creds`), CREDS);

  const upgraded = await rpm(['-U', packages.get('rpm', 'x64', '2')]);
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.equal((await rpm(['-q', 'yixing-agent'])).stdout, 'yixing-agent-0.1.0-2.x86_64\n');
  assert.equal(await readFile(inRoot(root, PACKAGE_PATHS.config), 'utf8'), edited);
  assert.ok(!existsSync(inRoot(root, `${PACKAGE_PATHS.config}.rpmnew`)));
  assert.equal(await readFile(inRoot(root, `${PACKAGE_PATHS.stateDir}/bus.creds`), 'utf8'), CREDS);
  // The new build's %post, then the old one's %postun: restarted if it was running.
  assert.deepEqual(await calls(), ['daemon-reload', 'daemon-reload', `try-restart --no-block ${UNIT_NAME}`]);

  const erased = await rpm(['-e', 'yixing-agent']);
  assert.equal(erased.code, 0, erased.stderr);
  assert.notEqual((await rpm(['-q', 'yixing-agent'])).code, 0);
  assert.ok(!existsSync(inRoot(root, PACKAGE_PATHS.executable)));
  assert.ok(!existsSync(inRoot(root, PACKAGE_PATHS.rpmUnit)));
  assert.equal(await readFile(inRoot(root, PACKAGE_PATHS.config), 'utf8'), edited);
  assert.equal(await readFile(inRoot(root, `${PACKAGE_PATHS.stateDir}/bus.creds`), 'utf8'), CREDS);
  assert.deepEqual(await calls(), [`--no-reload disable ${UNIT_NAME}`, `stop ${UNIT_NAME}`, 'daemon-reload']);

  // Installed again, it finds the host's settings in place and puts its own beside them.
  const again = await rpm(['-i', packages.get('rpm', 'x64', '2')]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await readFile(inRoot(root, PACKAGE_PATHS.config), 'utf8'), edited);
});

test('the deb installs into the Debian 11 root, upgrades to a newer build, is removed and purged', async () => {
  const t = await freshDebianRoot();
  cleanup.push(() => t.remove());
  const root = t.root;
  await mkdir(inRoot(root, 'tmp'), { recursive: true });
  for (const r of ['1', '2'] as const) await cp(packages.get('deb', 'x64', r), inRoot(root, `tmp/yixing-agent-${r}.deb`));
  const dpkg = (args: string[]) => inChroot(root, ['dpkg', ...args]);
  const status = async () =>
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the format syntax of dpkg-query, not a template
    (await inChroot(root, ['dpkg-query', '-W', '-f=${db:Status-Abbrev}${Version}', 'yixing-agent'])).stdout.trim();

  // The minbase root has no systemd at all: the scripts skip systemctl.
  assert.ok(!existsSync(inRoot(root, 'usr/bin/systemctl')) && !existsSync(inRoot(root, 'bin/systemctl')));
  const installed = await dpkg(['-i', '/tmp/yixing-agent-1.deb']);
  assert.equal(installed.code, 0, installed.stderr);
  assert.equal(await status(), 'ii 0.1.0-1');
  assert.equal(await mode(inRoot(root, PACKAGE_PATHS.config)), '600');
  assert.equal(await mode(inRoot(root, PACKAGE_PATHS.stateDir)), '700');
  const version = await inChroot(root, [PACKAGE_PATHS.executable, 'version']);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, agentVersionLine('deb', '1'));

  const calls = await recordSystemctl(root);
  await appendFile(inRoot(root, PACKAGE_PATHS.config), EDIT);
  const edited = await readFile(inRoot(root, PACKAGE_PATHS.config), 'utf8');
  await writeFile(inRoot(root, `${PACKAGE_PATHS.stateDir}/bus.creds`), CREDS);

  const upgraded = await dpkg(['-i', '/tmp/yixing-agent-2.deb']);
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.equal(await status(), 'ii 0.1.0-2');
  assert.equal(await readFile(inRoot(root, PACKAGE_PATHS.config), 'utf8'), edited);
  assert.equal(await readFile(inRoot(root, `${PACKAGE_PATHS.stateDir}/bus.creds`), 'utf8'), CREDS);
  assert.deepEqual(await calls(), ['daemon-reload', `try-restart --no-block ${UNIT_NAME}`]);

  const removed = await dpkg(['-r', 'yixing-agent']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(await status(), 'rc 0.1.0-2');
  assert.ok(!existsSync(inRoot(root, PACKAGE_PATHS.executable)));
  assert.ok(!existsSync(inRoot(root, PACKAGE_PATHS.debUnit)));
  assert.equal(await readFile(inRoot(root, PACKAGE_PATHS.config), 'utf8'), edited);
  assert.equal(await readFile(inRoot(root, `${PACKAGE_PATHS.stateDir}/bus.creds`), 'utf8'), CREDS);
  assert.deepEqual(await calls(), [`--no-reload disable ${UNIT_NAME}`, `stop ${UNIT_NAME}`, 'daemon-reload']);

  const purged = await dpkg(['-P', 'yixing-agent']);
  assert.equal(purged.code, 0, purged.stderr);
  assert.equal(await status(), '');
  assert.ok(!existsSync(inRoot(root, PACKAGE_PATHS.config)));
  assert.ok(!existsSync(inRoot(root, PACKAGE_PATHS.configDir)));
  // The host's credential and migration records stay, said so.
  assert.equal(await readFile(inRoot(root, `${PACKAGE_PATHS.stateDir}/bus.creds`), 'utf8'), CREDS);
  assert.match(purged.stderr, /kept \/var\/lib\/yixing/);
});

test('packaging the same agent build again gives the same bytes, RPM and deb', async () => {
  const again = await buildPackages({
    outDir: path.join(packages.dir, 'again'),
    release: '1',
    compression: 'gzip',
    archs: ['x64'],
    agentDir: packages.agentDir,
    sourceDateEpoch: packages.sourceDateEpoch,
  });
  assert.deepEqual(
    again.map((p) => [p.kind, p.sha256]),
    again.map((p) => [p.kind, packages.built(p.kind, 'x64', '1').sha256]),
  );
});

test('a release that does not order as a build number, or a compression EL7 cannot read, is refused before anything is built', async () => {
  const outDir = path.join(tmpdir(), `yx-packages-refused-${process.pid}`);
  await assert.rejects(buildPackages({ outDir, release: '01' }), /release "01" must be a build number/);
  await assert.rejects(buildPackages({ outDir, release: '2~rc1' }), /release "2~rc1" must be a build number/);
  // @ts-expect-error: a compression the type does not allow, as the command line may pass
  await assert.rejects(buildPackages({ outDir, compression: 'zstd' }), /compression "zstd" must be one of xz, gzip/);
  assert.ok(!existsSync(outDir));
});
