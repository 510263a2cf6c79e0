import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  BACKUP_MANIFEST_MEMBER,
  type BackupManifest,
  BackupManifestError,
  listTarMembers,
  manifestMismatch,
  manifestPackageProblem,
  manifestPathProblem,
  parseBackupManifest,
  readTarMember,
} from './backup-manifest.ts';

const good: BackupManifest = {
  manifest: [{ name: 'base-files', arch: 'amd64', version: '11.1+deb11u9', held: false }],
  services: ['ssh.service'],
  osRelease: { id: 'debian', versionId: '11' },
  digests: { '/etc': 'abc', '/var/lib/app': 'def' },
};
const pkg = { name: 'base-files', arch: 'amd64', version: '11.1+deb11u9', held: false };
const bytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

test('a well-formed manifest parses', () => {
  assert.deepEqual(parseBackupManifest(bytes(good)), good);
});

test('a broken manifest is refused naming what is wrong', () => {
  const cases: [unknown, RegExp][] = [
    ['not json', /is not JSON/],
    [[], /not an object/],
    [{ ...good, manifest: 'x' }, /manifest must be a list/],
    [{ ...good, manifest: [{ name: 'a' }] }, /manifest\[0\] must have a name and a version/],
    [{ ...good, manifest: [{ name: 'a', version: '1' }] }, /manifest\[0\] \(a\) must have arch and held/],
    [{ ...good, services: [1] }, /services must be a list of names/],
    [{ ...good, osRelease: { id: 'debian' } }, /osRelease must have id and versionId/],
    [{ ...good, digests: {} }, /digests must name at least one/],
    [{ ...good, digests: { etc: 'x' } }, /digests: "etc" is not an absolute path/],
    [{ ...good, digests: { '/': 'x' } }, /digests: "\/" is the whole root/],
    [{ ...good, digests: { '/../x': 'x' } }, /digests: "\/..\/x" has a `..` segment/],
    [{ ...good, digests: { '/etc/../../root/.ssh': 'x' } }, /has a `..` segment/],
    [{ ...good, digests: { '/etc/': 'x' } }, /is not normalized/],
    [{ ...good, digests: { '//etc': 'x' } }, /is not normalized/],
    [{ ...good, digests: { '/etc/./cron.d': 'x' } }, /is not normalized/],
    [{ ...good, digests: { '/etc\ncron': 'x' } }, /holds a control character/],
    [{ ...good, manifest: [] }, /manifest lists no packages; restoring it would remove every package/],
    [{ ...good, manifest: [{ ...pkg, name: '--foo' }] }, /manifest\[0\]: name "--foo" is not a package name/],
    [{ ...good, manifest: [{ ...pkg, name: 'bash\nrun' }] }, /manifest\[0\]: name "bash\\nrun" is not a package name/],
    [{ ...good, manifest: [{ ...pkg, name: 'a b' }] }, /name "a b" is not a package name/],
    [{ ...good, manifest: [{ ...pkg, arch: '-x' }] }, /arch "-x" is not an architecture/],
    [{ ...good, manifest: [{ ...pkg, version: '-1' }] }, /version "-1" is not a package version/],
    [{ ...good, manifest: [{ ...pkg, version: '1 2' }] }, /version "1 2" is not a package version/],
    [{ ...good, digests: { '/etc': '' } }, /digests: \/etc has no digest/],
  ];
  for (const [value, message] of cases) {
    const input = typeof value === 'string' ? Buffer.from(value) : bytes(value);
    assert.throws(
      () => parseBackupManifest(input),
      (e: unknown) => e instanceof BackupManifestError && message.test(e.message),
    );
  }
});

test('Debian and RPM package entries as the package managers report them pass', () => {
  for (const p of [
    { name: 'libc6', arch: 'amd64', version: '2.31-13+deb11u11' },
    { name: 'g++-10', arch: 'amd64', version: '10.2.1-6' },
    { name: 'base-passwd', arch: 'all', version: '3.5.52' },
    { name: 'tzdata', arch: 'all', version: '2024a-0+deb11u1' },
    { name: 'NetworkManager', arch: 'x86_64', version: '1:1.18.8-2.el7_9' },
    { name: 'perl-Data-Dumper', arch: 'noarch', version: '2.145-3.el7' },
    { name: 'python3_foo', arch: 'aarch64', version: '1.0~rc1^20240101-1.oe2203' },
  ]) {
    assert.equal(manifestPackageProblem(p), undefined, JSON.stringify(p));
  }
  assert.equal(manifestPathProblem('/var/lib/app'), undefined);
  assert.equal(manifestPathProblem('/etc/cron.d'), undefined);
  assert.equal(manifestPathProblem('/etc/..hidden'), undefined, 'a name starting with .. is a name');
});

test('the manifest must describe exactly the declared paths, all held by the archive', () => {
  const members = ['etc', 'etc/hosts', 'var/lib/app', BACKUP_MANIFEST_MEMBER];
  assert.equal(manifestMismatch(good, ['/var/lib/app', '/etc'], members), undefined);
  assert.match(manifestMismatch(good, ['/etc'], members) ?? '', /describes paths \/etc, \/var\/lib\/app, the agent declared \/etc/);
  assert.match(manifestMismatch(good, ['/etc', '/var/lib/app'], ['etc']) ?? '', /does not hold \/var\/lib\/app/);
  assert.equal(manifestMismatch(good, ['/etc', '/var/lib/app'], ['etc/hosts', 'var/lib/app/db']), undefined);
  assert.match(manifestMismatch(good, ['/etc', '/var/lib/app'], ['etc', 'var/lib/application']) ?? '', /does not hold \/var\/lib\/app/);
});

test('tar members are read and listed from a real archive', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-manifest-'));
  try {
    await mkdir(path.join(dir, 'src', 'etc'), { recursive: true });
    await mkdir(path.join(dir, 'src', 'yixing'));
    await writeFile(path.join(dir, 'src', 'etc', 'hosts'), '127.0.0.1 localhost\n');
    await writeFile(path.join(dir, 'src', BACKUP_MANIFEST_MEMBER), JSON.stringify(good));
    const file = path.join(dir, 'a.tar');
    execFileSync('tar', ['-cf', file, '-C', path.join(dir, 'src'), 'etc', 'yixing']);
    assert.deepEqual(parseBackupManifest((await readTarMember(file, BACKUP_MANIFEST_MEMBER)) as Buffer), good);
    assert.equal(await readTarMember(file, 'no/such/member'), undefined);
    assert.deepEqual((await listTarMembers(file)).sort(), ['etc', 'etc/hosts', 'yixing', BACKUP_MANIFEST_MEMBER].sort());
    await writeFile(path.join(dir, 'junk.tar'), 'not a tar archive at all');
    await assert.rejects(listTarMembers(path.join(dir, 'junk.tar')), BackupManifestError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
