// The LVM thin driver cannot run here (no device-mapper): what it decides and the argv it
// would run are checked against scripted lvs/findmnt answers as LVM 2.03 prints them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostRoot } from '../os/host-root.ts';
import { ScriptedCommands } from './command-port.testing.ts';
import { LvmThinSnapshotDriver, parseLvsRow, snapshotLvName } from './lvm-thin.driver.ts';
import { SnapshotMissingError } from './snapshot.driver.ts';

const host = new HostRoot('/');
const LVS = 'lvs --noheadings --nosuffix --separator |';
const onThin = (poolPercent = '41.20', snapshot: string | null = null): ScriptedCommands =>
  new ScriptedCommands([
    ['findmnt -n -o SOURCE -T /', { stdout: '/dev/mapper/vg0-root\n' }],
    [`${LVS} -o vg_name,lv_name,segtype,pool_lv /dev/mapper/vg0-root`, { stdout: '  vg0|root|thin|pool0\n' }],
    [`${LVS} -o data_percent,metadata_percent vg0/pool0`, { stdout: `  ${poolPercent}|12.00\n` }],
    [
      `${LVS} -o lv_name vg0/yixing-s1`,
      snapshot === null ? { code: 5, stderr: 'Failed to find logical volume' } : { stdout: '  yixing-s1\n' },
    ],
    [`${LVS} -o lv_name,origin,lv_merging vg0/yixing-s1`, snapshot === null ? { code: 5 } : { stdout: `  yixing-s1|root|${snapshot}\n` }],
    ['lvcreate', {}],
    ['lvremove', {}],
    ['lvconvert', {}],
  ]);

test('a thin root volume with room in its pool can be snapshotted', async () => {
  assert.deepEqual(await new LvmThinSnapshotDriver(host, onThin()).detect(), {
    usable: true,
    detail: 'the root is thin volume vg0/root (pool 41.2% full): snapshot before, merge and reboot to roll back',
  });
  assert.match((await new LvmThinSnapshotDriver(host, onThin('85.00')).detect()).detail, /vg0\/pool0 is 85% full/);
});

test('a linear volume, a plain partition and a directory root are not served', async () => {
  const linear = new ScriptedCommands([
    ['findmnt', { stdout: '/dev/mapper/vg0-root\n' }],
    [LVS, { stdout: '  vg0|root|linear|\n' }],
  ]);
  assert.match((await new LvmThinSnapshotDriver(host, linear).detect()).detail, /vg0\/root is linear, not thin/);
  const partition = new ScriptedCommands([
    ['findmnt', { stdout: '/dev/vda1\n' }],
    [LVS, { code: 5, stderr: '"/dev/vda1": Invalid path for Logical Volume.' }],
  ]);
  assert.deepEqual(await new LvmThinSnapshotDriver(host, partition).detect(), {
    usable: false,
    detail: 'the root is on /dev/vda1, not an LVM logical volume',
  });
  const none = new ScriptedCommands([]);
  assert.equal((await new LvmThinSnapshotDriver(new HostRoot('/srv/root'), none).detect()).usable, false);
  assert.deepEqual(none.calls, [], 'a directory root is refused without asking LVM');
});

test('take: a thin snapshot of the root volume, tagged; a left-over one is made again', async () => {
  const fresh = onThin();
  const ref = await new LvmThinSnapshotDriver(host, fresh).take('s1');
  assert.deepEqual(ref, { driver: 'lvm-thin', id: 'vg0/yixing-s1', facts: { origin: 'vg0/root' } });
  assert.deepEqual(fresh.changes(), ['lvcreate --snapshot --name yixing-s1 --addtag yixing vg0/root']);
  const leftover = onThin('41.20', '');
  await new LvmThinSnapshotDriver(host, leftover).take('s1');
  assert.deepEqual(leftover.changes(), ['lvremove -y vg0/yixing-s1', 'lvcreate --snapshot --name yixing-s1 --addtag yixing vg0/root']);
});

test('revert: merge the snapshot into its origin and ask for a reboot; once only', async () => {
  const ref = { driver: 'lvm-thin' as const, id: 'vg0/yixing-s1', facts: { origin: 'vg0/root' } };
  const port = onThin('41.20', '');
  const r = await new LvmThinSnapshotDriver(host, port).revert(ref, { resumed: false });
  assert.equal(r.rebootRequired, true);
  assert.deepEqual(port.changes(), ['lvconvert --merge vg0/yixing-s1']);
  const merging = onThin('41.20', 'merging');
  await new LvmThinSnapshotDriver(host, merging).revert(ref, { resumed: true });
  assert.deepEqual(merging.changes(), [], 'a merge already pending is not asked again');
  await assert.rejects(new LvmThinSnapshotDriver(host, onThin()).revert(ref, { resumed: false }), SnapshotMissingError);
  assert.equal(await new LvmThinSnapshotDriver(host, onThin()).reverted(ref), false, 'origin not scripted: not known to be merged');
});

test('lvs rows and snapshot names', () => {
  assert.deepEqual(parseLvsRow('  vg0|root|thin|pool0\n', ['vg', 'lv', 'seg', 'pool']), {
    vg: 'vg0',
    lv: 'root',
    seg: 'thin',
    pool: 'pool0',
  });
  assert.equal(parseLvsRow('\n', ['vg']), null);
  assert.equal(snapshotLvName('s0123abcd'), 'yixing-s0123abcd');
  assert.equal(snapshotLvName('run/1 x'), 'yixing-run_1_x');
});
