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
  parseBackupManifest,
  readTarMember,
} from './backup-manifest.ts';

const good: BackupManifest = {
  manifest: [{ name: 'base-files', arch: 'amd64', version: '11.1+deb11u9', held: false }],
  services: ['ssh.service'],
  osRelease: { id: 'debian', versionId: '11' },
  digests: { '/etc': 'abc', '/var/lib/app': 'def' },
};
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
    [{ ...good, digests: { etc: 'x' } }, /digests: etc is not an absolute path/],
    [{ ...good, digests: { '/': 'x' } }, /digests: \/ is not an absolute path below the root/],
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
