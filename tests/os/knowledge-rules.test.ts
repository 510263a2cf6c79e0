// The knowledge rules on real roots, through `yx-agent assess|migrate|rollback` with the
// real package manager previews: planted triggers on the real Debian 11 root (packages
// built and installed by the root's own dpkg) and on a CentOS 7 root installed by dnf from
// synthetic RPMs; the clean roots report nothing that is not true of them. A data path a
// rule names (/var/lib/postgresql) is backed up and put back exactly by the rollback.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { mustRun, runCommand, treeDigest } from '@yixing/host-agent/internal';
import {
  dpkgSet,
  freshDebianRoot,
  freshDebianServicesRoot,
  requiredEnv,
  standaloneState,
  type TestRoot,
  yxAgent,
} from '../fixtures/os-root.ts';
import { buildRpms, createRepo } from '../fixtures/rpm-repos.ts';
import { type StaticServer, serveDirectory } from '../fixtures/static-server.ts';

interface Report {
  findings: { id: string; severity: string; inhibitor: boolean; title: string; detail: string; remediation: string }[];
  dataPaths: { path: string; bytes: number; rule: string; backup: boolean; reason?: string }[];
  notBackedUp: string[];
  enabledServices: string[];
}

/** Finding ids of the shipped knowledge rules (and the backup scope they give). */
const KNOWLEDGE = [
  'postgresql-major-not-in-target',
  'mysql-major-change',
  'python2-removed',
  'python2-scripts',
  'kernel-modules-dropped',
  'network-interface-names',
  'third-party-repository-without-target',
  'enabled-services',
  'data-not-backed-up',
];
const knowledgeIds = (r: Report): string[] =>
  r.findings
    .map((f) => f.id)
    .filter((id) => KNOWLEDGE.includes(id.split(':')[0] as string))
    .sort();
const finding = (r: Report, id: string) => {
  const f = r.findings.find((x) => x.id === id);
  assert.ok(f, `${id} among ${r.findings.map((x) => x.id).join(', ')}`);
  return f;
};

async function put(root: string, rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

let mirror: StaticServer;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  mirror = await serveDirectory(requiredEnv('YX_DEBIAN_MIRROR'));
});

after(async () => {
  for (const c of cleanups) await c();
  await mirror?.close();
});

async function debianRoot(): Promise<TestRoot> {
  const r = await freshDebianRoot();
  cleanups.push(() => r.remove());
  return r;
}

const debianArgs = (r: TestRoot): string[] => [
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

/** A Debian package built and installed by the root's own dpkg-deb and dpkg. */
async function installDeb(root: string, name: string, version: string, files: Record<string, string>): Promise<void> {
  const build = `/tmp/yx-plant-${name}`;
  await put(
    root,
    `${build}/DEBIAN/control`,
    `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: Yixing tests <yx@localhost>\nDescription: ${name} (planted by the Yixing tests)\n`,
  );
  for (const [p, content] of Object.entries(files)) await put(root, path.join(build, p), content);
  await mustRun(['chroot', root, 'dpkg-deb', '--root-owner-group', '--build', build, `${build}.deb`]);
  await mustRun(['chroot', root, 'dpkg', '-i', `${build}.deb`]);
  await rm(path.join(root, build), { recursive: true, force: true });
  await rm(path.join(root, `${build}.deb`), { force: true });
}

/** A PostgreSQL 13 server package and a cluster's data, as bullseye's postgresql-13 leaves them. */
async function plantPostgresql13(root: string): Promise<void> {
  await installDeb(root, 'postgresql-13', '13.16-0+deb11u1', { '/usr/lib/postgresql/13/bin/postgres': '#!/bin/sh\nexit 0\n' });
  await put(root, 'var/lib/postgresql/13/main/PG_VERSION', '13\n');
  await put(root, 'var/lib/postgresql/13/main/base/1/1259', 'r'.repeat(8192));
  await put(root, 'etc/postgresql/13/main/postgresql.conf', "data_directory = '/var/lib/postgresql/13/main'\n");
}

async function assessReport(args: string[], stateDir: string): Promise<{ code: number; report: Report; out: string }> {
  const run = await yxAgent(['assess', ...args]);
  const state = await standaloneState(stateDir);
  return { code: run.code, report: state.steps[0]?.report as Report, out: run.stdout + run.stderr };
}

test('on the clean Debian 11 root the rules report only what is true: its one enabled service and the backup scope', async () => {
  const r = await debianRoot();
  const { code, report, out } = await assessReport(debianArgs(r), r.stateDir);
  assert.equal(code, 0, out);
  assert.deepEqual(knowledgeIds(report), ['data-not-backed-up', 'enabled-services']);
  assert.deepEqual(report.enabledServices, ['e2scrub_reap']);
  assert.equal(finding(report, 'data-not-backed-up').severity, 'info');
  assert.deepEqual(report.notBackedUp, [
    'anything outside /etc; that includes whatever data the enabled services no rule knows keep elsewhere (e2scrub_reap)',
  ]);
  assert.deepEqual(report.dataPaths, []);
});

test('on Debian 11, PostgreSQL 13, MariaDB 10.5 and eth0 in /etc/network/interfaces are reported; data paths measured, a mounted one left out and said so', async () => {
  const r = await debianRoot();
  await plantPostgresql13(r.root);
  await installDeb(r.root, 'mariadb-server-10.5', '1:10.5.26-0+deb11u2', { '/usr/sbin/mariadbd': '#!/bin/sh\nexit 0\n' });
  // The database's data on its own filesystem, as it often is: the restore's swap by
  // renames cannot take a mount point, so it is left out of the backup, and said so.
  const mysqlData = path.join(r.root, 'var/lib/mysql');
  await mkdir(mysqlData, { recursive: true });
  await mustRun(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mysqlData]);
  cleanups.unshift(async () => void (await runCommand(['umount', '-l', mysqlData])));
  await put(r.root, 'var/lib/mysql/ibdata1', 'i'.repeat(4096));
  await put(r.root, 'etc/network/interfaces', 'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n');
  // apt's simulation of the upgrade logs its planner's run (EIPP) in the root's
  // var/log/apt when there is a package like these to keep back: not the rules' doing.
  const ignore = (p: string): boolean => p === 'var/log/apt/eipp.log.xz';
  const before = await treeDigest(r.root, ignore);
  const { report, out } = await assessReport(debianArgs(r), r.stateDir);
  assert.equal(await treeDigest(r.root, ignore), before, 'the assessment changed nothing');

  const pg = finding(report, 'postgresql-major-not-in-target:postgresql-13');
  assert.equal(pg.severity, 'high');
  assert.match(pg.title, /^PostgreSQL 13 \(13\.16-0\+deb11u1\) is not in debian 12 \(bookworm\)/, out);
  assert.match(pg.detail, /data in \/var\/lib\/postgresql\/13/);
  assert.match(pg.remediation, /pg_upgradecluster 13 main/);
  const my = finding(report, 'mysql-major-change');
  assert.match(my.title, /mariadb server changes major version \(mariadb-server-10\.5 1:10\.5\.26-0\+deb11u2\)/);
  assert.match(my.remediation, /mariadb-upgrade/);
  const net = finding(report, 'network-interface-names');
  assert.match(net.title, /eth0 \(\/etc\/network\/interfaces\)/);

  assert.deepEqual(
    report.dataPaths.map((d) => [d.path, d.bytes, d.rule, d.backup]),
    [
      ['/var/lib/mysql', 0, 'mysql-major-change', false],
      ['/var/lib/postgresql', 8192 + 3, 'postgresql-major-not-in-target', true],
    ],
  );
  const left = finding(report, 'data-not-backed-up');
  assert.equal(left.severity, 'medium');
  assert.equal(
    report.notBackedUp[0],
    '/var/lib/mysql (named by mysql-major-change): a filesystem is mounted on it: back it up with a snapshot of that volume',
  );
  assert.match(report.notBackedUp[1] ?? '', /^anything outside \/etc, \/var\/lib\/postgresql; /);
  assert.equal(
    report.findings.some((f) => f.id.startsWith('python2') || f.id.startsWith('third-party')),
    false,
  );
});

test('PostgreSQL data is backed up with /etc and put back exactly by the rollback; net.ifnames=0 silences the naming rule', async () => {
  const r = await debianRoot();
  await plantPostgresql13(r.root);
  await put(r.root, 'etc/network/interfaces', 'auto eth0\niface eth0 inet dhcp\n');
  await put(r.root, 'etc/default/grub', 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="net.ifnames=0 biosdevname=0"\n');
  const packagesBefore = await dpkgSet(r.root);
  const dataBefore = await treeDigest(path.join(r.root, 'var/lib/postgresql'));
  const etcBefore = await treeDigest(path.join(r.root, 'etc'));

  const migrated = await yxAgent(['migrate', ...debianArgs(r)]);
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  const state = await standaloneState(r.stateDir);
  const precheck = state.steps.find((s) => s.step === 'precheck')?.report as Report;
  assert.ok(precheck.findings.some((f) => f.id === 'postgresql-major-not-in-target:postgresql-13'));
  assert.ok(!precheck.findings.some((f) => f.id === 'network-interface-names'), 'net.ifnames=0 keeps the names');
  const backup = state.steps.find((s) => s.step === 'backup')?.report as { backup: { paths: string[] }; digests: Record<string, string> };
  assert.deepEqual(backup.backup.paths, ['/etc', '/var/lib/postgresql']);
  assert.ok(backup.digests['/var/lib/postgresql'], 'the archive declares the data path');

  // What an upgrade of the cluster would do: a new cluster beside it, the old one changed.
  await put(r.root, 'var/lib/postgresql/15/main/PG_VERSION', '15\n');
  await put(r.root, 'var/lib/postgresql/13/main/base/1/1259', 'upgraded');
  await rm(path.join(r.root, 'var/lib/postgresql/13/main/PG_VERSION'));

  const rolledBack = await yxAgent(['rollback', ...debianArgs(r)]);
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  assert.equal(await treeDigest(path.join(r.root, 'var/lib/postgresql')), dataBefore, '/var/lib/postgresql as backed up');
  assert.equal(await treeDigest(path.join(r.root, 'etc')), etcBefore, '/etc as backed up');
  assert.deepEqual(await dpkgSet(r.root), packagesBefore);
});

test("on the Debian 11 root with real services, PostgreSQL 13's cluster is reported and backed up with /etc", async () => {
  const r = await freshDebianServicesRoot();
  cleanups.push(() => r.remove());
  const clusterBefore = await treeDigest(path.join(r.root, 'var/lib/postgresql'));
  const migrated = await yxAgent(['migrate', ...debianArgs(r)]);
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  const state = await standaloneState(r.stateDir);
  const report = state.steps.find((s) => s.step === 'precheck')?.report as Report;
  assert.deepEqual(knowledgeIds(report), ['data-not-backed-up', 'enabled-services', 'postgresql-major-not-in-target:postgresql-13']);
  const pg = finding(report, 'postgresql-major-not-in-target:postgresql-13');
  assert.match(pg.title, /^PostgreSQL 13 \(13\.[0-9.]+-0\+deb11u[0-9]+\) is not in debian 12 \(bookworm\)/);
  assert.match(pg.remediation, /pg_upgradecluster 13 main/);
  const data = report.dataPaths.find((d) => d.path === '/var/lib/postgresql');
  assert.ok(data?.backup && data.bytes > 1024 * 1024, `the cluster is measured: ${JSON.stringify(report.dataPaths)}`);
  // The services with a rule for their data are not in the list of what is left out.
  assert.match(report.notBackedUp.join('\n'), /^anything outside \/etc, \/var\/lib\/postgresql; .*\((?!.*postgresql).*nginx.*\)$/m);

  const backup = state.steps.find((s) => s.step === 'backup')?.report as { backup: { paths: string[] }; digests: Record<string, string> };
  assert.deepEqual(backup.backup.paths, ['/etc', '/var/lib/postgresql']);
  assert.equal(backup.digests['/var/lib/postgresql'], clusterBefore, 'the cluster as it was before the upgrade');
  // bookworm's postgresql-15 made its own cluster beside 13's (the backup holds the root's one).
  assert.deepEqual((await readdir(path.join(r.root, 'var/lib/postgresql'))).sort(), ['13', '15']);
});

// --- CentOS 7 to openEuler 22.03, from synthetic RPM repositories ---

const osRelease = (id: string, version: string, name: string): string =>
  `NAME="${name}"\nVERSION="${version}"\nID="${id}"\nVERSION_ID="${version}"\nPRETTY_NAME="${name} ${version}"`;

/** Source and target repositories under the profile's addresses, for --mirror. */
async function elRepos(): Promise<{ dir: string; mirrors: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-knowledge-rpms-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const source = path.join(dir, 'vault', '7.9.2009', 'os', 'x86_64');
  const target = path.join(dir, 'openeuler', 'openEuler-22.03-LTS', 'OS', 'x86_64');
  await buildRpms(
    [
      {
        name: 'centos-release',
        version: '7',
        release: '9.2009.1.el7.centos',
        provides: ['system-release'],
        files: { '/etc/os-release': osRelease('centos', '7', 'CentOS Linux') },
      },
      { name: 'python', version: '2.7.5', release: '90.el7', files: { '/usr/bin/python2.7': '#!/bin/sh\nexit 0\n' } },
      { name: 'python-libs', version: '2.7.5', release: '90.el7', files: { '/usr/lib64/python2.7/os.py': '# os\n' } },
      { name: 'mariadb-server', version: '5.5.68', release: '1.el7', files: { '/usr/libexec/mysqld': '#!/bin/sh\nexit 0\n' } },
    ],
    source,
  );
  await buildRpms(
    [
      {
        name: 'openEuler-release',
        version: '22.03LTS',
        release: '52.oe2203',
        provides: ['system-release'],
        files: { '/etc/os-release': osRelease('openEuler', '22.03', 'openEuler') },
      },
      { name: 'mariadb-server', version: '10.5.16', release: '1.oe2203', files: { '/usr/libexec/mysqld': '#!/bin/sh\nexit 0\n' } },
    ],
    target,
  );
  for (const d of [
    source,
    target,
    path.join(dir, 'vault', '7.9.2009', 'updates', 'x86_64'),
    path.join(dir, 'openeuler', 'openEuler-22.03-LTS', 'everything', 'x86_64'),
    path.join(dir, 'openeuler', 'openEuler-22.03-LTS', 'update', 'x86_64'),
  ])
    await createRepo(d);
  return { dir, mirrors: [`https://vault.centos.org=file://${dir}/vault`, `https://repo.openeuler.org=file://${dir}/openeuler`] };
}

async function elRoot(
  repos: { dir: string; mirrors: string[] },
  packages: string[],
): Promise<{ root: string; stateDir: string; args: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-knowledge-el-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  await put(dir, 'repos/source.repo', `[src]\nname=src\nbaseurl=file://${repos.dir}/vault/7.9.2009/os/x86_64/\ngpgcheck=0\n`);
  await mustRun([
    'dnf',
    `--installroot=${root}`,
    `--setopt=reposdir=${dir}/repos`,
    '--releasever=7',
    '--noplugins',
    '-y',
    '-q',
    'install',
    ...packages,
  ]);
  await put(
    root,
    'etc/yum.repos.d/CentOS-Base.repo',
    '[centos7-base]\nname=CentOS 7 base\nbaseurl=https://vault.centos.org/7.9.2009/os/$basearch/\ngpgcheck=1\n',
  );
  const stateDir = path.join(dir, 'state');
  return {
    root,
    stateDir,
    args: [
      '--profile',
      'centos-7-to-openeuler-22.03',
      '--root',
      root,
      '--state-dir',
      stateDir,
      ...repos.mirrors.flatMap((m) => ['--mirror', m]),
      '--trusted-mirrors',
    ],
  };
}

test('on CentOS 7: Python 2 packages and scripts, the MariaDB major change, eth0 and EPEL are reported; a clean root gets none', async () => {
  const repos = await elRepos();
  const clean = await elRoot(repos, ['centos-release']);
  const cleanRun = await assessReport(clean.args, clean.stateDir);
  assert.equal(cleanRun.code, 0, cleanRun.out);
  assert.deepEqual(knowledgeIds(cleanRun.report), []);
  assert.deepEqual(cleanRun.report.dataPaths, []);

  const r = await elRoot(repos, ['centos-release', 'python', 'python-libs', 'mariadb-server']);
  await put(r.root, 'usr/local/bin/nightly-report', '#!/usr/bin/python\nprint "report"\n');
  await put(r.root, 'usr/local/bin/new-report', '#!/usr/bin/python3\nprint("report")\n');
  await put(r.root, 'etc/sysconfig/network-scripts/ifcfg-eth0', 'DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\n');
  await put(
    r.root,
    'etc/yum.repos.d/epel.repo',
    '[epel]\nname=EPEL 7\nmetalink=https://mirrors.fedoraproject.org/metalink?repo=epel-7&arch=$basearch\n',
  );
  await put(r.root, 'var/lib/mysql/ibdata1', 'i'.repeat(2048));
  const { report, out } = await assessReport(r.args, r.stateDir);

  assert.match(
    finding(report, 'python2-removed').title,
    /: 2 installed Python 2 package\(s\) \(python-libs 0:2\.7\.5-90\.el7, python 0:2\.7\.5-90\.el7\)/,
    out,
  );
  assert.match(finding(report, 'python2-scripts').title, /^1 local script\(s\) run on Python 2.*: \/usr\/local\/bin\/nightly-report$/);
  const my = finding(report, 'mysql-major-change');
  assert.match(my.detail, /mariadb-server 0:5\.5\.68-1\.el7 becomes 0:10\.5\.16-1\.oe2203 \(upgraded\)/);
  assert.match(finding(report, 'network-interface-names').title, /eth0 \(\/etc\/sysconfig\/network-scripts\/ifcfg-eth0\)/);
  const epel = report.findings.find((f) => f.id.startsWith('third-party-repository-without-target:'));
  assert.match(
    epel?.title ?? '',
    /^epel \(https:\/\/mirrors\.fedoraproject\.org\/metalink\?repo=epel-7&arch=\$basearch\) has no equivalent for openEuler 22\.03/,
  );
  assert.deepEqual(
    report.dataPaths.map((d) => [d.path, d.bytes, d.backup]),
    [['/var/lib/mysql', 2048, true]],
  );
  assert.equal(
    report.findings.some((f) => f.id.startsWith('postgresql')),
    false,
    'an apt rule on a dnf root',
  );
});

test('a site rule directory replaces a shipped rule; a bad site rule stops the command before anything runs', async () => {
  const r = await debianRoot();
  const site = path.join(r.dir, 'knowledge');
  await put(
    site,
    'enabled-services.yaml',
    'id: enabled-services\ndescription: site\nmatch: [{ service: { name: "^e2scrub" } }]\nfinding: { severity: low, title: "site: {{items}}", remediation: r }\n',
  );
  const { report, out } = await assessReport([...debianArgs(r), '--knowledge-dir', site], r.stateDir);
  const f = finding(report, 'enabled-services');
  assert.equal(f.title, 'site: e2scrub_reap', out);
  assert.equal(f.severity, 'low');

  await put(
    site,
    'broken.yaml',
    'id: broken\ndescription: d\nmatch: [{ package: { name: "(" } }]\nfinding: { severity: low, title: t, remediation: r }\n',
  );
  const stateBefore = await standaloneState(r.stateDir);
  const rootBefore = await treeDigest(r.root);
  const bad = await yxAgent(['migrate', ...debianArgs(r), '--knowledge-dir', site]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /broken\.yaml: \/match\/0\/package\/name is not a regular expression/);
  assert.deepEqual(await standaloneState(r.stateDir), stateBefore, 'no run was started');
  assert.equal(await treeDigest(r.root), rootBefore);
});
