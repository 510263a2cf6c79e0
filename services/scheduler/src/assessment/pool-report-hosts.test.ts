import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GROUP_PATTERN, groupHosts, groupHostsPage } from './pool-report-hosts.ts';

const kind = (name: string, hosts: string[]) => ({
  kind: name,
  severity: 'high' as const,
  title: '',
  remediation: '',
  hostCount: hosts.length,
  hosts,
});
const hosts = Array.from({ length: 7 }, (_, i) => `h-${i}`);
const report = {
  inhibitors: [kind('held-packages', hosts)],
  warnings: [kind('removed-kernel-module', ['h-1'])],
  notAssessed: [{ reason: 'never' as const, hostCount: 2, hosts: ['x-1', 'x-2'] }],
};

test('a group is a finding kind or a reason, named by its prefix', () => {
  assert.deepEqual(groupHosts(report, 'inhibitor:held-packages'), hosts);
  assert.deepEqual(groupHosts(report, 'warning:removed-kernel-module'), ['h-1']);
  assert.deepEqual(groupHosts(report, 'notAssessed:never'), ['x-1', 'x-2']);
  // A kind no host has (any more) is an empty group, not an error.
  assert.deepEqual(groupHosts(report, 'warning:held-packages'), []);
  assert.deepEqual(groupHosts(report, 'notAssessed:unknown'), []);
  const re = new RegExp(GROUP_PATTERN);
  assert.ok(re.test('inhibitor:held-packages') && re.test('notAssessed:never'));
  assert.ok(!re.test('held-packages') && !re.test('other:x') && !re.test('warning:a b') && !re.test('warning:'));
});

test('pages in host-id order after the last host of the previous page, the count of all', () => {
  const first = groupHostsPage(report, 'inhibitor:held-packages', null, 3);
  assert.deepEqual(first, { group: 'inhibitor:held-packages', hostCount: 7, hosts: ['h-0', 'h-1', 'h-2'], lastHostId: 'h-2' });
  const second = groupHostsPage(report, 'inhibitor:held-packages', 'h-2', 3);
  assert.deepEqual(second.hosts, ['h-3', 'h-4', 'h-5']);
  const last = groupHostsPage(report, 'inhibitor:held-packages', 'h-5', 3);
  assert.deepEqual({ hosts: last.hosts, lastHostId: last.lastHostId }, { hosts: ['h-6'], lastHostId: null });
  // A host gone between pages: the next page starts after where it sorted.
  assert.deepEqual(groupHostsPage(report, 'inhibitor:held-packages', 'h-35', 2).hosts, ['h-4', 'h-5']);
  assert.deepEqual(groupHostsPage(report, 'inhibitor:held-packages', null, 7).lastHostId, null);
  assert.deepEqual(groupHostsPage(report, 'warning:x', null, 3), { group: 'warning:x', hostCount: 0, hosts: [], lastHostId: null });
});
