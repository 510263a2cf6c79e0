// Writes, removals and mounts in a directory root never go through a symlink out of it;
// the root's own relative links are followed. Symlinks planted in temporary roots.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, rmdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ScriptedCommands } from '../snapshot/command-port.testing.ts';
import { withTempDir } from './durable-file.testing.ts';
import { HostRoot, isWithin, RootEscapeError } from './host-root.ts';

/** A root at `<dir>/root` (usr/sbin, etc/apt, proc, dev, `sbin -> usr/sbin`) and a directory outside it. */
async function rootIn(dir: string, port?: ScriptedCommands): Promise<{ root: HostRoot; outside: string }> {
  const base = await realpath(dir);
  const r = path.join(base, 'root');
  for (const d of ['usr/sbin', 'etc/apt', 'proc', 'dev']) await mkdir(path.join(r, d), { recursive: true });
  await symlink('usr/sbin', path.join(r, 'sbin'));
  const outside = path.join(base, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'shadow'), 'root:secret\n');
  return { root: new HostRoot(r, port), outside };
}

/** Nothing is mounted yet; every mount and umount succeeds (and is recorded). */
const mountCommands = (): ScriptedCommands =>
  new ScriptedCommands([
    ['mountpoint', { code: 1 }],
    ['mount', {}],
    ['umount', {}],
  ]);

test('isWithin: the directory itself and below it, nothing beside or above', () => {
  assert.equal(isWithin('/srv/root', '/srv/root'), true);
  assert.equal(isWithin('/srv/root', '/srv/root/etc/apt'), true);
  assert.equal(isWithin('/srv/root', '/srv/root2/etc'), false);
  assert.equal(isWithin('/srv/root', '/srv'), false);
  assert.equal(isWithin('/', '/etc'), true);
});

test("the root's own relative links are followed; new paths are created below what exists", async () => {
  await withTempDir(async (dir) => {
    const { root } = await rootIn(dir);
    assert.equal(await root.safePath('sbin/policy-rc.d'), root.at('usr/sbin/policy-rc.d'));
    assert.equal(await root.safePath('etc/yum.repos.d/a.repo'), root.at('etc/yum.repos.d/a.repo'));
    assert.equal(await root.safePath('sbin', { follow: false }), root.at('sbin'));
    await root.writeInside('sbin/policy-rc.d', 'exit 101\n', { mode: 0o755 });
    assert.equal(await readFile(root.at('usr/sbin/policy-rc.d'), 'utf8'), 'exit 101\n');
    assert.equal((await lstat(root.at('usr/sbin/policy-rc.d'))).mode & 0o777, 0o755);
  });
});

test('the host root is not checked: every path is inside /', async () => {
  assert.equal(await new HostRoot('/').safePath('etc/apt/sources.list'), '/etc/apt/sources.list');
});

test('an absolute link, a ../.. link and a dangling link out of the root are refused and nothing is written', async () => {
  await withTempDir(async (dir) => {
    const { root, outside } = await rootIn(dir);
    // etc/apt/sources.list -> <outside>/shadow (absolute, the host's file)
    await symlink(path.join(outside, 'shadow'), root.at('etc/apt/sources.list'));
    // usr/sbin/policy-rc.d's directory replaced: usr/local -> ../../outside
    await symlink('../../outside', root.at('usr/local'));
    // a dangling link: writing through it would create its target outside
    await symlink(path.join(outside, 'cron.d/evil'), root.at('etc/apt/preferences'));
    // a loop: where it leads cannot be known
    await symlink('loop', root.at('etc/loop'));
    // a root whose etc/yum.repos.d is the host's directory
    await symlink(outside, root.at('etc/yum.repos.d'));

    const refusals: [string, () => Promise<unknown>, RegExp][] = [
      [
        'a link to a host file',
        () => root.writeInside('etc/apt/sources.list', 'deb x\n'),
        /etc\/apt\/sources\.list leads to .*outside\/shadow, outside the root/,
      ],
      [
        'a ../.. link on the way',
        () => root.writeInside('usr/local/sbin/policy-rc.d', 'exit 101\n'),
        /usr\/local leads to .*\/outside, outside the root/,
      ],
      ['a dangling link', () => root.writeInside('etc/apt/preferences', 'x\n'), /is a symlink to .*cron\.d\/evil, which does not exist/],
      ['a directory link', () => root.safePath('etc/yum.repos.d/yixing-target.repo'), /etc\/yum\.repos\.d leads to/],
      ['a removal through a directory link', () => root.safePath('etc/yum.repos.d/a.repo', { follow: false }), /outside the root/],
      ['.. in the path', () => root.safePath('../outside/shadow'), /is outside the root/],
      ['a link loop', () => root.writeInside('etc/loop', 'x\n'), /the links at .*etc\/loop loop/],
    ];
    for (const [what, refused, message] of refusals) {
      await assert.rejects(refused(), (err: unknown) => {
        assert.ok(err instanceof RootEscapeError, what);
        assert.equal(err.code, 'ROOT_PATH_ESCAPES');
        assert.match(err.message, message, what);
        return true;
      });
    }
    // Nothing changed outside.
    assert.deepEqual(await readdir(outside), ['shadow']);
    assert.equal(await readFile(path.join(outside, 'shadow'), 'utf8'), 'root:secret\n');
  });
});

test('a link itself is removed or renamed (follow: false), not what it points to', async () => {
  await withTempDir(async (dir) => {
    const { root, outside } = await rootIn(dir);
    await symlink(path.join(outside, 'shadow'), root.at('etc/apt/sources.list'));
    assert.equal(await root.safePath('etc/apt/sources.list', { follow: false }), root.at('etc/apt/sources.list'));
    await assert.rejects(root.safePath('etc/apt/sources.list'), RootEscapeError);
  });
});

test('a <root>/dev linked out of the root is not mounted on; what was mounted before it is unmounted', async () => {
  await withTempDir(async (dir) => {
    const port = mountCommands();
    const { root, outside } = await rootIn(dir, port);
    await mkdir(path.join(outside, 'dev'));
    await rmdir(root.at('dev'));
    await symlink(path.join(outside, 'dev'), root.at('dev'));
    let ran = false;
    await assert.rejects(
      root.withMounts(async () => {
        ran = true;
      }),
      (err: unknown) => err instanceof RootEscapeError && /dev leads to .*outside\/dev, outside the root/.test(err.message),
    );
    assert.equal(ran, false);
    assert.deepEqual(port.changes(['mountpoint']), [`mount -t proc proc ${root.at('proc')}`, `umount -l ${root.at('proc')}`]);
    assert.equal(existsSync(path.join(outside, 'dev/pts')), false);
  });
});

test("mounts go on the root's own directories, a relative link among them resolved inside", async () => {
  await withTempDir(async (dir) => {
    const port = mountCommands();
    const { root } = await rootIn(dir, port);
    // proc -> sys/proc inside the root: mounted where it leads, which is inside
    await mkdir(root.at('sys/proc'), { recursive: true });
    await rmdir(root.at('proc'));
    await symlink('sys/proc', root.at('proc'));
    assert.equal(await root.withMounts(async () => 'done'), 'done');
    assert.deepEqual(port.changes(['mountpoint']), [
      `mount -t proc proc ${root.at('sys/proc')}`,
      `mount --bind /dev ${root.at('dev')}`,
      `mount --bind /dev/pts ${root.at('dev/pts')}`,
      `umount -l ${root.at('dev/pts')}`,
      `umount -l ${root.at('dev')}`,
      `umount -l ${root.at('sys/proc')}`,
    ]);
  });
});
