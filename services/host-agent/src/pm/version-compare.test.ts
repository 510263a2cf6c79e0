import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareDebianVersions, compareRpmVersions, relationMatches, type VersionCompare } from './version-compare.ts';

function assertOrder(compare: VersionCompare, lt: [string, string][]): void {
  for (const [a, b] of lt) {
    assert.ok(compare(a, b) < 0, `${a} < ${b}`);
    assert.ok(compare(b, a) > 0, `${b} > ${a}`);
  }
}

// Expected orders as `dpkg --compare-versions` and `rpmdev-vercmp` give them.
test('Debian versions order as dpkg orders them', () => {
  const lt: [string, string][] = [
    ['2.31-13+deb11u11', '2.36-9+deb12u14'],
    ['1.0~rc1', '1.0'],
    ['1.0', '1.0-1'],
    ['1.0-1', '1.0-1+b1'],
    ['3.1-1+b2', '3.4-1+b5'],
    ['9', '1:1'],
    ['1.0a', '1.0b'],
    ['1.0', '1.0a'],
    ['1.0a', '1.0+'],
    ['1.2.3', '1.10'],
    ['10.2.1-6', '12.2.0-14+deb12u1'],
    ['1.1.1w-0+deb11u1', '3.0.15-1~deb12u1'],
  ];
  assertOrder(compareDebianVersions, lt);
  assert.equal(compareDebianVersions('1.3.0-2', '1.3.0-2'), 0);
  assert.equal(compareDebianVersions('0:1.0', '1.0'), 0);
  assert.equal(compareDebianVersions('1.01', '1.1'), 0);
});

test('rpm versions order as rpm orders them, a missing release comparing versions only', () => {
  const lt: [string, string][] = [
    ['1.0-1.el7', '2.0-1.oe2203'],
    ['0:1.0-3.el7', '1:0.1-1'],
    ['1.0~rc1-1', '1.0-1'],
    ['1.0-1', '1.0^git1-1'],
    ['1.0a', '1.0.1'],
    ['2.17-317.el7', '2.34-60.oe2203'],
    ['7-9.2009.1.el7.centos', '22.03LTS-52.oe2203'],
    ['1.9', '1.10'],
  ];
  assertOrder(compareRpmVersions, lt);
  assert.equal(compareRpmVersions('1.0-3.el7', '1.0'), 0);
  assert.equal(compareRpmVersions('0:1.0-1', '1.0-1'), 0);
  assert.equal(compareRpmVersions('1.0.0', '1.0.0'), 0);
});

test('a relation holds only within its version constraint', () => {
  assert.ok(relationMatches({ name: 'old-tool', op: '<', version: '2.0' }, 'old-tool', '1.0-3.el7', compareRpmVersions));
  assert.ok(!relationMatches({ name: 'old-tool', op: '<', version: '2.0' }, 'old-tool', '2.0-1', compareRpmVersions));
  assert.ok(!relationMatches({ name: 'libsemanage1', op: '<=', version: '2.0.41-1' }, 'libsemanage1', '3.1-1+b2', compareDebianVersions));
  assert.ok(relationMatches({ name: 'libsemanage1' }, 'libsemanage1', '3.1-1+b2', compareDebianVersions));
  assert.ok(!relationMatches({ name: 'other' }, 'libsemanage1', '3.1-1+b2', compareDebianVersions));
});
