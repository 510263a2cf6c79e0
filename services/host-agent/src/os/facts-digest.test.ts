import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { withTempDir } from './durable-file.testing.ts';
import { factsDigest, factsDigestLines, hostFactsReader } from './facts-digest.ts';

async function put(root: string, rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), text);
}

test('the facts digest changes with the release, the package set, the repositories, the rpm database and the roles', async () => {
  await withTempDir(async (root) => {
    await put(root, 'etc/os-release', 'ID=debian\nVERSION_ID="11"\n');
    await put(root, 'var/lib/dpkg/status', 'Package: bash\nStatus: install ok installed\nVersion: 5.1\n');
    await put(root, 'etc/apt/sources.list', 'deb http://deb.debian.org/debian bullseye main\n');
    const digests = [await factsDigest(root, ['containers'])];
    assert.match(digests[0] as string, /^[0-9a-f]{64}$/);
    assert.equal(await factsDigest(root, ['containers']), digests[0], 'the same root gives the same digest');

    const changes: [string, () => Promise<unknown>][] = [
      ['release', () => put(root, 'etc/os-release', 'ID=debian\nVERSION_ID="12"\n')],
      ['a held package', () => put(root, 'var/lib/dpkg/status', 'Package: bash\nStatus: hold ok installed\nVersion: 5.1\n')],
      ['a repository file', () => put(root, 'etc/apt/sources.list.d/extra.list', 'deb http://example.org/x stable main\n')],
      ['a yum repository', () => put(root, 'etc/yum.repos.d/epel.repo', '[epel]\nbaseurl=http://example.org/epel\n')],
      ['the rpm database', () => put(root, 'var/lib/rpm/rpmdb.sqlite', 'x'.repeat(100))],
      ['the rpm database again', () => utimes(path.join(root, 'var/lib/rpm/rpmdb.sqlite'), 1_000, 1_000)],
    ];
    for (const [what, change] of changes) {
      await change();
      const d = await factsDigest(root, ['containers']);
      assert.ok(!digests.includes(d), `${what} changes the digest`);
      digests.push(d);
    }
    const last = digests.at(-1);
    assert.notEqual(await factsDigest(root, ['containers', 'libvirt']), last, 'a new role changes the digest');
    assert.equal(
      await factsDigest(root, ['libvirt', 'containers']),
      await factsDigest(root, ['containers', 'libvirt']),
      'role order does not',
    );
  });
});

test('a root without package files or repositories has a digest, each input named absent', async () => {
  await withTempDir(async (root) => {
    await mkdir(path.join(root, 'etc/yum.repos.d/nested'), { recursive: true });
    const lines = await factsDigestLines(root, []);
    assert.ok(lines.includes('etc/os-release absent'));
    assert.ok(lines.includes('etc/yum.repos.d/nested directory'));
    assert.ok(lines.includes('var/lib/rpm/rpmdb.sqlite absent'));
    assert.ok(lines.includes('roles '));
  });
});

test("a host's facts reader gives the detected roles, sorted, the digest over them and the host's size", async () => {
  await withTempDir(async (root) => {
    await put(root, 'etc/os-release', 'ID=debian\nVERSION_ID="11"\n');
    await put(root, 'var/lib/dpkg/status', 'Package: bash\nStatus: install ok installed\nInstalled-Size: 7000\n');
    const read = hostFactsReader(root, async () => ['libvirt', 'containers', 'libvirt']);
    const { diskUsedBytes, ...facts } = await read();
    assert.deepEqual(facts, {
      roles: ['containers', 'libvirt'],
      factsDigest: await factsDigest(root, ['containers', 'libvirt']),
      packageCount: 1,
      installedBytes: 7000 * 1024,
    });
    assert.ok(diskUsedBytes > 0);
  });
});
