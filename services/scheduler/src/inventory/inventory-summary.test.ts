import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SummaryHost, summariseInventory } from './inventory-summary.ts';

const host = (id: string, osId: string, osVersion: string, agentVersion: string): SummaryHost => ({
  _id: id,
  facts: { osId, osVersion },
  agentVersion,
});

test('hosts are counted by OS release, by agent version and by connection, most hosts first', () => {
  const hosts = [
    host('a', 'centos', '7', '1.2.0'),
    host('b', 'centos', '7', '1.2.0'),
    host('c', 'centos', '8', '1.1.0'),
    host('d', 'openEuler', '22.03', '1.2.0'),
    host('e', 'centos', '7', ''),
  ];
  const offline = new Set(['b', 'e']);
  assert.deepEqual(
    summariseInventory(hosts, (id) => !offline.has(id)),
    {
      total: 5,
      online: 3,
      offline: 2,
      byOsRelease: [
        { osId: 'centos', osVersion: '7', hosts: 3, online: 1 },
        { osId: 'centos', osVersion: '8', hosts: 1, online: 1 },
        { osId: 'openEuler', osVersion: '22.03', hosts: 1, online: 1 },
      ],
      byAgentVersion: [
        { agentVersion: '1.2.0', hosts: 3, online: 2 },
        { agentVersion: '', hosts: 1, online: 0 },
        { agentVersion: '1.1.0', hosts: 1, online: 1 },
      ],
    },
  );
});

test('an OS id and version are one release together, not split where a space would be', () => {
  const s = summariseInventory([host('a', 'a b', 'c', '1'), host('b', 'a', 'b c', '1')], () => true);
  assert.equal(s.byOsRelease.length, 2);
});

test('an empty inventory is all zeros and no rows', () => {
  assert.deepEqual(
    summariseInventory([], () => true),
    { total: 0, online: 0, offline: 0, byOsRelease: [], byAgentVersion: [] },
  );
});
