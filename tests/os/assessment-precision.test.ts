// Assessment precision through `yx-agent assess` on real roots with the real package
// manager previews: the clean root of each shipped profile gets no package finding that
// is not true of it; a package the target lacks is reported orphaned, one from no source
// repository foreign, while upgraded, renamed (obsoleted) and swapped release packages
// are not findings. Debian: the cached Debian 11 root against the local mirror; dnf: a
// root of synthetic RPMs under each shipped dnf profile's own repository paths.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { mustRun, treeDigest } from '@yixing/host-agent/internal';
import { debianAgent } from '../fixtures/debian-agent.ts';
import { requiredEnv, standaloneState, yxAgent } from '../fixtures/os-root.ts';
import { buildProfileRepos, dnfProfile, installForeignRpm, profileRoot, sourceRelease } from '../fixtures/rpm-profile-roots.ts';

interface Change {
  name: string;
  arch: string;
  from?: string;
  fate: string;
  by?: string;
  to?: string;
}
interface Report {
  findings: { id: string; inhibitor: boolean; detail: string }[];
  preview: { changes: Change[] } | null;
}

/** The finding ids the package classification gives. */
const packageFindingIds = (r: Report): string[] =>
  r.findings
    .map((f) => f.id)
    .filter((id) => id.startsWith('packages-') || id.startsWith('source-repositories-'))
    .sort();
const detailNames = (r: Report, id: string): string[] =>
  (r.findings.find((f) => f.id === id)?.detail ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[0] as string)
    .sort();
const fateOf = (r: Report, name: string): Change | undefined => r.preview?.changes.find((c) => c.name === name);
const fates = (r: Report, name: string): string => {
  const c = fateOf(r, name);
  return c ? `${c.name} ${c.fate}${c.by ? ` by ${c.by}` : ''}` : `${name} not classified`;
};

async function assessReport(args: string[], stateDir: string): Promise<Report> {
  const run = await yxAgent(['assess', ...args]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  return (await standaloneState(stateDir)).steps[0]?.report as Report;
}

const debian = debianAgent();

/**
 * The packages of a Debian 11 root that bookworm does not have, as checked against the
 * real archive (the classifier's unit tests hold those recordings), and the ones at the
 * same version in both releases. The local mirror's bookworm holds only what the upgrade
 * downloads, so a same-version package has no bookworm candidate THERE, and is truly
 * orphaned against it.
 */
async function expectedOrphans(notInBookworm: string[], sameVersionInBoth: string[]): Promise<string[]> {
  const bookworm = await readFile(path.join(requiredEnv('YX_DEBIAN_MIRROR'), 'debian/dists/bookworm/main/binary-amd64/Packages'), 'utf8');
  const offered = new Set([...bookworm.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]));
  return [...notInBookworm, ...sameVersionInBoth.filter((n) => !offered.has(n))].sort();
}
const minbaseOrphans = (): Promise<string[]> =>
  expectedOrphans(['gcc-10-base', 'gcc-9-base', 'libffi7', 'libsepol1', 'libssl1.1'], ['libnsl2']);

/** The packages the old preview called "not offered by the target", which bookworm upgrades. */
const UPGRADED_IN_BOOKWORM = ['bsdutils', 'dash', 'e2fsprogs', 'passwd', 'zlib1g', 'libstdc++6', 'tzdata', 'libc6'];

test('clean Debian 11 root: only the packages bookworm lacks are reported, the renamed library is replaced', async () => {
  const r = await debian.root();
  const report = await assessReport(debian.args(r), r.stateDir);
  assert.deepEqual(packageFindingIds(report), ['packages-not-in-target']);
  assert.deepEqual(detailNames(report, 'packages-not-in-target'), await minbaseOrphans());
  for (const n of UPGRADED_IN_BOOKWORM) assert.equal(fateOf(report, n)?.fate, 'upgraded', n);
  assert.deepEqual(fateOf(report, 'libsemanage1'), {
    name: 'libsemanage1',
    arch: 'amd64',
    from: '3.1-1+b2',
    fate: 'replaced',
    by: 'libsemanage2',
  });
  assert.ok(
    report.preview?.changes.every((c) => c.fate !== 'foreign' && c.fate !== 'removed'),
    'every package of the root is from bullseye; nothing is removed without a successor',
  );
});

test('a .deb from no repository is reported foreign; the assessment changes nothing', async () => {
  const r = await debian.root();
  const build = '/tmp/acme-agent';
  await mustRun(['mkdir', '-p', path.join(r.root, build, 'DEBIAN'), path.join(r.root, build, 'opt/acme')]);
  await writeFile(
    path.join(r.root, build, 'DEBIAN/control'),
    'Package: acme-agent\nVersion: 4.2-1\nArchitecture: all\nMaintainer: Acme <ops@acme.invalid>\nDescription: a vendor agent\n',
  );
  await writeFile(path.join(r.root, build, 'opt/acme/agent'), '#!/bin/sh\nexit 0\n');
  await mustRun(['chroot', r.root, 'dpkg-deb', '--root-owner-group', '--build', build, `${build}.deb`]);
  await mustRun(['chroot', r.root, 'dpkg', '-i', `${build}.deb`]);
  await rm(path.join(r.root, build), { recursive: true, force: true });
  await rm(path.join(r.root, `${build}.deb`), { force: true });

  const before = await treeDigest(r.root);
  const report = await assessReport(debian.args(r), r.stateDir);
  assert.equal(await treeDigest(r.root), before, 'the assessment changed the root');
  assert.deepEqual(packageFindingIds(report), ['packages-foreign', 'packages-not-in-target']);
  assert.deepEqual(detailNames(report, 'packages-foreign'), ['acme-agent']);
  assert.deepEqual(detailNames(report, 'packages-not-in-target'), await minbaseOrphans());
});

test('Debian 11 with services: PostgreSQL 13 is orphaned (and its rule fires), nothing bookworm offers is reported', async () => {
  const r = await debian.root('services');
  const report = await assessReport(debian.args(r), r.stateDir);
  assert.deepEqual(packageFindingIds(report), ['packages-not-in-target']);
  assert.deepEqual(
    detailNames(report, 'packages-not-in-target'),
    await expectedOrphans(
      [
        'gcc-10-base',
        'gcc-9-base',
        'libbpf0',
        'libffi7',
        'libicu67',
        'libidn11',
        'libldap-2.4-2',
        'libllvm11',
        'libperl5.32',
        'libsepol1',
        'libssl1.1',
        'libtiff5',
        'libwebp6',
        'perl-modules-5.32',
        'postgresql-13',
        'postgresql-client-13',
      ],
      ['libmnl0', 'libnsl2', 'libxau6', 'libxdmcp6'],
    ),
  );
  assert.equal(fateOf(report, 'postgresql-13')?.fate, 'orphaned');
  assert.ok(
    report.findings.some((f) => f.id === 'postgresql-major-not-in-target:postgresql-13'),
    JSON.stringify(report.findings.map((f) => f.id)),
  );
  for (const n of [...UPGRADED_IN_BOOKWORM, 'nginx', 'postgresql', 'exim4-daemon-light', 'cron']) {
    assert.equal(fateOf(report, n)?.fate, 'upgraded', n);
  }
  assert.ok(report.preview?.changes.every((c) => c.fate !== 'foreign' && c.fate !== 'removed'));
});

for (const name of [
  'centos-7-to-openeuler-22.03',
  'centos-7-to-bclinux-21.10',
  'centos-8-to-openeuler-22.03',
  'centos-8-to-openeuler-24.03',
]) {
  test(`${name}: the clean root has no package finding; the one the target lacks is orphaned, a vendor rpm foreign`, async () => {
    const repos = await buildProfileRepos(await dnfProfile(name));
    debian.cleanup(() => repos.remove());
    const release = sourceRelease(repos.profile);
    const swappedTo = repos.profile.dnf.releaseSwap.install.join(' ');
    const args = (root: string): string[] => [
      '--profile',
      name,
      '--root',
      root,
      '--state-dir',
      path.join(repos.dir, `state-${path.basename(root)}`),
      ...repos.mirrors.flatMap((m) => ['--mirror', m]),
      '--trusted-mirrors',
    ];

    const clean = path.join(repos.dir, 'clean');
    await profileRoot(repos, clean, ['app-base', 'old-tool']);
    const cleanReport = await assessReport(args(clean), path.join(repos.dir, 'state-clean'));
    assert.deepEqual(packageFindingIds(cleanReport), [], JSON.stringify(cleanReport.findings));
    assert.equal(cleanReport.findings.filter((f) => f.inhibitor).length, 0, JSON.stringify(cleanReport.findings));
    assert.deepEqual(
      [release, 'old-tool', 'app-base', 'new-tool'].map((n) => fates(cleanReport, n)),
      [`${release} replaced by ${swappedTo}`, 'old-tool replaced by new-tool', 'app-base upgraded', 'new-tool new'],
    );

    const planted = path.join(repos.dir, 'planted');
    await profileRoot(repos, planted, ['app-base', 'old-tool', 'legacy-tool']);
    await installForeignRpm(planted, 'acme-agent');
    const report = await assessReport(args(planted), path.join(repos.dir, 'state-planted'));
    assert.deepEqual(packageFindingIds(report), ['packages-foreign', 'packages-not-in-target']);
    assert.deepEqual(detailNames(report, 'packages-not-in-target'), ['legacy-tool']);
    assert.deepEqual(detailNames(report, 'packages-foreign'), ['acme-agent']);
    assert.equal(fateOf(report, 'old-tool')?.fate, 'replaced');
    assert.equal(fateOf(report, release)?.fate, 'replaced');
  });
}
