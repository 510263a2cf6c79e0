// The rollback assessment on real directories of this machine's file system.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { stepContext } from '../drivers/step-context.testing.ts';
import { HostRoot } from '../os/host-root.ts';
import { loadProfiles, type Profile } from '../profiles/profile.ts';
import { assessRollback } from './rollback-strategy.ts';

let dir: string;
let profile: Profile;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yx-rollback-'));
  await mkdir(path.join(dir, 'root/etc'), { recursive: true });
  await writeFile(path.join(dir, 'root/etc/hostname'), 'web1\n');
  profile = (await loadProfiles()).get('debian-11-to-12') as Profile;
});
after(() => rm(dir, { recursive: true, force: true }));

const ctx = (rollbackRequired?: 'snapshot' | 'packages' | 'any') =>
  stepContext({ hostId: 'h', runId: 'r', step: 'precheck', profile: 'debian-11-to-12', ...(rollbackRequired ? { rollbackRequired } : {}) });

test('a directory root off btrfs: a copy, considered after btrfs and LVM, each with its reason', async () => {
  const a = await assessRollback(new HostRoot(path.join(dir, 'root')), profile, ctx());
  assert.equal(a.required, 'any');
  assert.equal(a.chosen, 'snapshot');
  assert.equal(a.driver, 'copy');
  assert.deepEqual(
    a.options.map((o) => `${o.driver ?? o.strategy}:${o.usable}`),
    ['btrfs:false', 'lvm-thin:false', 'copy:true', 'packages:true'],
  );
  assert.match(a.options[0]?.detail ?? '', /not btrfs/);
  assert.deepEqual(a.findings, []);
});

test('the run’s requirement wins over the profile’s', async () => {
  const root = new HostRoot(path.join(dir, 'root'));
  assert.equal((await assessRollback(root, { ...profile, rollback: 'snapshot' }, ctx('packages'))).chosen, 'packages');
  assert.equal((await assessRollback(root, { ...profile, rollback: 'packages' }, ctx())).chosen, 'packages');
});

test('snapshot required where none can be taken (a mount point root): inhibited', async () => {
  const a = await assessRollback(new HostRoot('/proc'), profile, ctx('snapshot'));
  assert.equal(a.chosen, 'none');
  assert.deepEqual(
    a.findings.map((f) => [f.id, f.inhibitor]),
    [['rollback-snapshot-unavailable', true]],
  );
});
