import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSubvolumeList, parseSubvolumeShow, setDefaultBlocker } from './btrfs-facts.ts';

// As btrfs-progs 6.2 prints them.
const original = `root
	Name: 			root
	UUID: 			bc0a9179-73f4-de4d-b90f-883467ea8fe9
	Parent UUID: 		-
	Received UUID: 		-
	Creation time: 		2026-12-03 22:26:01 +0000
	Subvolume ID: 		256
	Generation: 		7
	Gen at creation: 	7
	Parent ID: 		5
	Top level ID: 		5
	Flags: 			-
	Snapshot(s):
`;
const snapshot = original
  .replace('bc0a9179-73f4-de4d-b90f-883467ea8fe9', '0b1c5d2e-0000-4a4a-9f9f-123456789abc')
  .replace('Parent UUID: \t\t-', 'Parent UUID: \t\tbc0a9179-73f4-de4d-b90f-883467ea8fe9')
  .replace('Subvolume ID: \t\t256', 'Subvolume ID: \t\t258');

test('subvolume show: its id and UUID, and the parent of a snapshot', () => {
  assert.deepEqual(parseSubvolumeShow(original), { id: 256, uuid: 'bc0a9179-73f4-de4d-b90f-883467ea8fe9' });
  assert.deepEqual(parseSubvolumeShow(snapshot), {
    id: 258,
    uuid: '0b1c5d2e-0000-4a4a-9f9f-123456789abc',
    parentUuid: 'bc0a9179-73f4-de4d-b90f-883467ea8fe9',
  });
  assert.equal(parseSubvolumeShow('ERROR: Not a Btrfs subvolume: Invalid argument\n'), null);
});

test('subvolume list -o: the nested subvolumes’ paths', () => {
  const text = 'ID 259 gen 12 top level 256 path root/var/lib/machines\nID 260 gen 13 top level 256 path root/srv/my data\n';
  assert.deepEqual(parseSubvolumeList(text), ['root/var/lib/machines', 'root/srv/my data']);
  assert.deepEqual(parseSubvolumeList(''), []);
});

test('set-default decides the next root unless the command line or fstab names a subvolume', () => {
  const fstab = 'UUID=abc / btrfs defaults 0 1\nUUID=def /home btrfs subvol=@home 0 2\n';
  assert.equal(setDefaultBlocker('BOOT_IMAGE=/vmlinuz root=UUID=abc ro quiet', fstab), null);
  assert.match(setDefaultBlocker('root=UUID=abc rootflags=subvol=@ ro', fstab) ?? '', /rootflags=subvol=@/);
  assert.match(
    setDefaultBlocker('root=UUID=abc ro', 'UUID=abc / btrfs defaults,subvolid=256 0 1\n') ?? '',
    /fstab mounts \/ with defaults,subvolid=256/,
  );
  assert.equal(setDefaultBlocker('root=UUID=abc rootflags=compress=zstd', '# / btrfs subvol=@\n'), null);
});
