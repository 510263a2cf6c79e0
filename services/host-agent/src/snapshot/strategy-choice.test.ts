import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseStrategy, isRollbackRequirement, rollbackRequirement, type StrategyOption } from './strategy-choice.ts';

const btrfs: StrategyOption = { strategy: 'snapshot', driver: 'btrfs', usable: true, detail: 'a subvolume' };
const noBtrfs: StrategyOption = { strategy: 'snapshot', driver: 'btrfs', usable: false, detail: 'on ext4' };
const copy: StrategyOption = { strategy: 'snapshot', driver: 'copy', usable: true, detail: 'space beside it' };
const noCopy: StrategyOption = { strategy: 'snapshot', driver: 'copy', usable: false, detail: 'a mount point' };
const packages: StrategyOption = { strategy: 'packages', usable: true, detail: 'source repositories' };
const noPackages: StrategyOption = { strategy: 'packages', usable: false, detail: 'no source repositories' };

test('any: the first usable snapshot driver, in the order given', () => {
  assert.deepEqual(chooseStrategy('any', [btrfs, copy, packages]), { chosen: 'snapshot', driver: 'btrfs', findings: [] });
  assert.deepEqual(chooseStrategy('any', [noBtrfs, copy, packages]), { chosen: 'snapshot', driver: 'copy', findings: [] });
});

test('any: packages when no snapshot can be taken, and none said plainly when neither', () => {
  assert.deepEqual(chooseStrategy('any', [noBtrfs, noCopy, packages]), { chosen: 'packages', findings: [] });
  const none = chooseStrategy('any', [noBtrfs, noCopy, noPackages]);
  assert.equal(none.chosen, 'none');
  assert.equal(none.findings.length, 1);
  assert.equal(none.findings[0]?.inhibitor, false);
  assert.match(none.findings[0]?.title ?? '', /cannot be rolled back/);
  assert.match(none.findings[0]?.detail ?? '', /btrfs: on ext4; copy: a mount point; packages: no source repositories/);
});

test('packages required: packages even where a snapshot could be taken', () => {
  assert.deepEqual(chooseStrategy('packages', [btrfs, packages]), { chosen: 'packages', findings: [] });
  const cannot = chooseStrategy('packages', [btrfs, noPackages]);
  assert.equal(cannot.chosen, 'none');
  assert.equal(cannot.findings[0]?.id, 'rollback-packages-unavailable');
  assert.equal(cannot.findings[0]?.inhibitor, true);
});

test('snapshot required and impossible: an inhibitor that says why and how to fix it', () => {
  assert.deepEqual(chooseStrategy('snapshot', [noBtrfs, copy, packages]), { chosen: 'snapshot', driver: 'copy', findings: [] });
  const cannot = chooseStrategy('snapshot', [noBtrfs, noCopy, packages]);
  assert.equal(cannot.chosen, 'none');
  const [f] = cannot.findings;
  assert.equal(f?.id, 'rollback-snapshot-unavailable');
  assert.equal(f?.inhibitor, true);
  assert.equal(f?.detail, 'btrfs: on ext4; copy: a mount point');
  assert.match(f?.remediation ?? '', /btrfs subvolume/);
});

test('the requirement: the run’s, else the profile’s, else any', () => {
  assert.equal(rollbackRequirement('snapshot', 'packages'), 'snapshot');
  assert.equal(rollbackRequirement(undefined, 'packages'), 'packages');
  assert.equal(rollbackRequirement('', undefined), 'any');
  assert.ok(isRollbackRequirement('any'));
  assert.ok(!isRollbackRequirement('zfs'));
});
