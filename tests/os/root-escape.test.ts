// A --root directory cannot make the agent write or mount outside it: on a real Debian 11
// root (merged /usr: sbin -> usr/sbin) the mounts, policy-rc.d and sources.list work as
// they must, and a <root>/dev, sources.list or policy-rc.d linked to the host is refused
// with nothing changed, on the host or in the root.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { AptRoot, HostRoot, loadProfiles, RootEscapeError, runCommand } from '@yixing/host-agent/internal';
import { freshDebianRoot, type TestRoot } from '../fixtures/os-root.ts';

const roots: TestRoot[] = [];
after(async () => {
  for (const r of roots) await r.remove();
});

const isMountPoint = async (p: string): Promise<boolean> => (await runCommand(['mountpoint', '-q', p])).code === 0;

async function debianRoot(): Promise<{ r: TestRoot; root: HostRoot; apt: AptRoot; outside: string }> {
  const r = await freshDebianRoot();
  roots.push(r);
  const profile = (await loadProfiles()).get('debian-11-to-12');
  assert.ok(profile?.apt);
  const root = new HostRoot(r.root);
  const outside = path.join(r.dir, 'host');
  await mkdir(path.join(outside, 'dev'), { recursive: true });
  await writeFile(path.join(outside, 'sources.list'), 'the host file\n');
  return { r, root, apt: new AptRoot(root, profile, true), outside };
}

test("a real Debian 11 root: /proc, /dev and /dev/pts mounted, policy-rc.d in place through the root's own sbin link, sources switched", async () => {
  const { r, root, apt } = await debianRoot();
  const profile = apt.profile.apt;
  assert.ok(profile);
  await root.withMounts(async () => {
    for (const m of ['proc', 'dev', 'dev/pts']) assert.equal(await isMountPoint(path.join(r.root, m)), true, m);
    await apt.withPolicyRc(async () => {
      // The root's sbin -> usr/sbin: the file is where the chroot's programs look for it.
      assert.equal((await root.exec(['/sbin/policy-rc.d', 'cron', 'start'])).code, 101);
    });
  });
  for (const m of ['proc', 'dev', 'dev/pts']) assert.equal(await isMountPoint(path.join(r.root, m)), false, m);
  assert.equal((await readdir(path.join(r.root, 'usr/sbin'))).includes('policy-rc.d'), false);
  await apt.switchSources(profile.repositories);
  assert.match(await readFile(path.join(r.root, 'etc/apt/sources.list'), 'utf8'), /^# Written by Yixing/);
});

test('a <root>/dev, sources.list or policy-rc.d linked to the host is refused; nothing is mounted or written', async () => {
  const { r, root, apt, outside } = await debianRoot();
  const profile = apt.profile.apt;
  assert.ok(profile);
  const refused = (what: string) => (err: unknown) => {
    assert.ok(err instanceof RootEscapeError, `${what}: ${err}`);
    assert.match(err.message, /outside the root|which does not exist/, what);
    return true;
  };

  await runCommand(['mv', path.join(r.root, 'dev'), path.join(r.root, 'dev.real')]);
  await symlink(path.join(outside, 'dev'), path.join(r.root, 'dev'));
  let ran = false;
  await assert.rejects(
    root.withMounts(async () => {
      ran = true;
    }),
    refused('dev'),
  );
  assert.equal(ran, false);
  assert.equal(await isMountPoint(path.join(outside, 'dev')), false, 'the host directory is not mounted on');
  assert.equal(await isMountPoint(path.join(r.root, 'proc')), false, 'proc, mounted before dev was refused, is unmounted');

  const sources = path.join(r.root, 'etc/apt/sources.list');
  const before = await readFile(sources);
  await writeFile(path.join(r.root, 'etc/apt/sources.list.d/vendor.list'), 'deb http://vendor.invalid/debian bullseye main\n');
  await runCommand(['mv', sources, `${sources}.real`]);
  await symlink(path.join(outside, 'sources.list'), sources);
  await assert.rejects(apt.switchSources(profile.repositories), refused('sources.list'));
  assert.equal(await readFile(path.join(outside, 'sources.list'), 'utf8'), 'the host file\n');
  assert.deepEqual(await readdir(path.join(r.root, 'etc/apt/sources.list.d')), ['vendor.list'], 'no source file was set aside');
  assert.deepEqual(await readFile(`${sources}.real`), before);

  await symlink(path.join(outside, 'policy-rc.d'), path.join(r.root, 'usr/sbin/policy-rc.d'));
  await assert.rejects(
    apt.withPolicyRc(async () => {
      ran = true;
    }),
    refused('policy-rc.d'),
  );
  assert.equal(ran, false);
  assert.deepEqual((await readdir(outside)).sort(), ['dev', 'sources.list']);
});
