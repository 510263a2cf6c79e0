// The snapshot rollback strategy on real roots: a Debian 11 root in a btrfs subvolume on a
// loop device migrated to Debian 12 and reverted to its snapshot, exactly (packages, /etc,
// every file of the root); the copy driver on a plain directory root; and a snapshot
// required where none can be taken, inhibited at the assessment with nothing changed.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCommand, treeDigest } from '@yixing/host-agent/internal';
import { btrfsRootFrom } from '../fixtures/btrfs-volume.ts';
import { debianAgent } from '../fixtures/debian-agent.ts';
import { dpkgSet, osVersion, requiredEnv, standaloneState, type TestRoot, yxAgent } from '../fixtures/os-root.ts';

const debian = debianAgent();
const args = (r: TestRoot): string[] => debian.args(r);

interface RunRollback {
  required: string;
  strategy: string;
  driver?: string;
  state?: string;
  snapshot?: { driver: string; id: string; facts: Record<string, string> };
}

async function runLog(stateDir: string): Promise<string> {
  const dir = path.join(stateDir, 'runs');
  const f = (await readdir(dir)).find((n) => n.endsWith('.log'));
  return f ? readFile(path.join(dir, f), 'utf8') : '';
}

/** Migrates to Debian 12 requiring a snapshot, rolls back, and checks the root is exactly as before. */
async function migrateAndRollBack(r: TestRoot, driver: string): Promise<RunRollback> {
  const packagesBefore = await dpkgSet(r.root);
  const etcBefore = await treeDigest(path.join(r.root, 'etc'));
  const rootBefore = await treeDigest(r.root);

  const migrated = await yxAgent(['migrate', '--rollback', 'snapshot', ...args(r)]);
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  assert.equal(await osVersion(r.root), '12');
  assert.notDeepEqual(await dpkgSet(r.root), packagesBefore);
  const state = await standaloneState(r.stateDir);
  const precheck = state.steps.find((s) => s.step === 'precheck')?.report as { rollback: { chosen: string; driver?: string } };
  assert.deepEqual([precheck.rollback.chosen, precheck.rollback.driver], ['snapshot', driver], 'the assessment reports the strategy');
  const plan = state.runData.rollback as RunRollback;
  assert.equal(plan.strategy, 'snapshot');
  assert.equal(plan.required, 'snapshot');
  assert.equal(plan.snapshot?.driver, driver);
  const upgrade = state.steps.find((s) => s.step === 'upgrade')?.report as { rollback: { strategy: string; snapshot: string } };
  assert.deepEqual(upgrade.rollback.snapshot, plan.snapshot?.id, 'the upgrade report names the snapshot');

  const rolledBack = await yxAgent(['rollback', ...args(r)]);
  assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
  assert.equal(await osVersion(r.root), '11');
  assert.deepEqual(await dpkgSet(r.root), packagesBefore, 'the dpkg package set as before');
  assert.equal(await treeDigest(path.join(r.root, 'etc')), etcBefore, '/etc as before');
  assert.equal(await treeDigest(r.root), rootBefore, 'every file of the root as before');
  const audit = await runCommand(['dpkg', `--admindir=${r.root}/var/lib/dpkg`, '--audit']);
  assert.equal(audit.stdout.trim(), '', 'dpkg reports no half-installed package');

  const after = await standaloneState(r.stateDir);
  assert.equal(after.end, 'restored');
  const report = after.steps.find((s) => s.step === 'rollback')?.report as {
    rollback: { strategy: string; snapshot: string };
    problems: string[];
  };
  assert.deepEqual(report.rollback.strategy, 'snapshot');
  assert.deepEqual(report.problems, []);
  // Reverted, not reinstalled: no package manager ran in the rollback.
  assert.doesNotMatch(await runLog(r.stateDir), / rollback stdout /);
  return after.runData.rollback as RunRollback;
}

test('a Debian 11 root in a btrfs subvolume: migrated to 12, reverted to its snapshot exactly', async () => {
  const r = await btrfsRootFrom(requiredEnv('YX_DEBIAN_ROOT_TAR'));
  debian.cleanup(() => r.remove());
  const plan = await migrateAndRollBack(r, 'btrfs');
  // The root is a writable snapshot of the saved one; the failed root is gone.
  const show = await runCommand(['btrfs', 'subvolume', 'show', r.root]);
  assert.match(show.stdout, new RegExp(`Parent UUID:\\s+${plan.snapshot?.facts.uuid}`));
  const subvolumes = await runCommand(['btrfs', 'subvolume', 'list', r.mount]);
  assert.doesNotMatch(subvolumes.stdout, /yixing-failed/);
});

test('a plain directory root: a copy beside it before the upgrade, swapped back on rollback', async () => {
  const r = await debian.root();
  const plan = await migrateAndRollBack(r, 'copy');
  assert.deepEqual(await readdir(path.join(r.dir, '.yixing-snapshots')), [], 'the copy became the root');
  assert.ok(plan.snapshot?.id.startsWith(path.join(r.dir, '.yixing-snapshots', 'root-')), plan.snapshot?.id);
});

test('a snapshot required of a root that cannot be snapshotted: inhibited at the assessment, nothing changed', async () => {
  const r = await debian.root();
  // A root that is a mount point (as a container's root often is) can be neither swapped
  // nor copied in place, and is not on btrfs here.
  await runCommand(['mount', '--bind', r.root, r.root]);
  try {
    const before = await treeDigest(r.root);
    const run = await yxAgent(['migrate', '--rollback', 'snapshot', ...args(r)]);
    assert.equal(run.code, 3, run.stdout + run.stderr);
    const state = await standaloneState(r.stateDir);
    assert.deepEqual(
      state.steps.map((s) => `${s.step}:${s.status}`),
      ['precheck:failed'],
    );
    const report = state.steps[0]?.report as { findings: { id: string; inhibitor: boolean; detail: string; remediation: string }[] };
    const finding = report.findings.find((f) => f.id === 'rollback-snapshot-unavailable');
    assert.ok(finding?.inhibitor, JSON.stringify(report.findings));
    assert.match(finding.detail, /copy: .* is a mount point/);
    assert.ok(finding.remediation.length > 0);
    assert.equal(await treeDigest(r.root), before, 'the root is unchanged');
    assert.equal(await osVersion(r.root), '11');
  } finally {
    await runCommand(['umount', r.root]);
  }
});
