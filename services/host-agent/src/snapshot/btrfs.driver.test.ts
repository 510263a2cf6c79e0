// The btrfs driver's live-root path (set-default and reboot) cannot run here: the argv it
// runs is checked against scripted btrfs-progs answers. The directory-root path runs for
// real on a loop device in tests/os/snapshot-rollback.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HostRoot } from '../os/host-root.ts';
import { BtrfsSnapshotDriver } from './btrfs.driver.ts';
import { ScriptedCommands } from './command-port.testing.ts';
import { realCommands, SnapshotMissingError } from './snapshot.driver.ts';

const show = (id: number, uuid: string, parent = '-'): string =>
  `x\n\tName: \t\t\tx\n\tUUID: \t\t\t${uuid}\n\tParent UUID: \t\t${parent}\n\tSubvolume ID: \t\t${id}\n`;
const ref = { driver: 'btrfs' as const, id: '.yixing-snapshots/root-s1', facts: { uuid: 'saved-uuid', mode: 'live' } };

test('live root: a writable copy of the saved snapshot becomes the default subvolume, and a reboot is asked for', async () => {
  let made = false;
  const port = new ScriptedCommands([
    ['findmnt -n -o UUID -T /', { stdout: 'fs-uuid\n' }],
    ['mount -o subvolid=5 UUID=fs-uuid ', {}],
    [
      'btrfs subvolume show ',
      (argv) => {
        const p = argv[3] ?? '';
        if (p.endsWith('root-s1')) return { stdout: show(300, 'saved-uuid', 'root-uuid') };
        if (p.endsWith('root-s1-rollback') && made) return { stdout: show(301, 'next-uuid', 'saved-uuid') };
        return { code: 1, stderr: 'ERROR: cannot find' };
      },
    ],
    [
      'btrfs subvolume snapshot ',
      () => {
        made = true;
        return {};
      },
    ],
    ['btrfs subvolume set-default 301 ', {}],
    ['umount ', {}],
  ]);
  const r = await new BtrfsSnapshotDriver(new HostRoot('/'), port).revert(ref, { resumed: false });
  assert.equal(r.rebootRequired, true);
  const changes = port.changes().map((l) => l.replace(/\/run\/yixing-btrfs-top-\w+/g, 'TOP'));
  assert.deepEqual(changes, [
    'mount -o subvolid=5 UUID=fs-uuid TOP',
    'btrfs subvolume snapshot TOP/.yixing-snapshots/root-s1 TOP/.yixing-snapshots/root-s1-rollback',
    'btrfs subvolume set-default 301 TOP',
    'umount TOP',
  ]);
});

test('live root: a saved snapshot that is gone changes nothing', async () => {
  const port = new ScriptedCommands([
    ['findmnt', { stdout: 'fs-uuid\n' }],
    ['mount', {}],
    ['btrfs subvolume show', { code: 1 }],
    ['umount', {}],
  ]);
  await assert.rejects(new BtrfsSnapshotDriver(new HostRoot('/'), port).revert(ref, { resumed: false }), SnapshotMissingError);
  assert.deepEqual(
    port.changes().map((l) => l.split(' ')[0]),
    ['mount', 'umount'],
  );
});

test('a root that is not on btrfs is not served, and says what it is on', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-btrfs-'));
  try {
    const fsType = (await realCommands.run(['stat', '-f', '-c', '%T', dir])).stdout.trim();
    const d = await new BtrfsSnapshotDriver(new HostRoot(dir), realCommands).detect();
    if (fsType === 'btrfs') assert.match(d.detail, /not a subvolume/);
    else assert.deepEqual(d, { usable: false, detail: `the root is on ${fsType}, not btrfs` });
  } finally {
    await rm(dir, { recursive: true });
  }
});
