import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentRows, inventoryRows, osRows } from './inventory-rows.ts';

const summary = {
  total: 200,
  online: 190,
  offline: 10,
  byOsRelease: [
    { osId: 'centos', osVersion: '7', hosts: 150, online: 145 },
    { osId: 'openEuler', osVersion: '22.03', hosts: 49, online: 45 },
    { osId: '', osVersion: '', hosts: 1, online: 0 },
  ],
  byAgentVersion: [
    { agentVersion: '1.2.0', hosts: 120, online: 118 },
    { agentVersion: '1.1.0', hosts: 60, online: 55 },
    { agentVersion: '1.0.0', hosts: 15, online: 14 },
    { agentVersion: '', hosts: 5, online: 3 },
  ],
};

test('OS releases read "id version", each with its share of all hosts; an unreported one is empty', () => {
  assert.deepEqual(osRows(summary, 5), [
    { name: 'centos 7', hosts: 150, online: 145, percent: 75 },
    { name: 'openEuler 22.03', hosts: 49, online: 45, percent: 25 },
    { name: '', hosts: 1, online: 0, percent: 1 },
  ]);
});

test('past the largest rows the rest is one row of others, saying how many it sums', () => {
  assert.deepEqual(agentRows(summary, 2), [
    { name: '1.2.0', hosts: 120, online: 118, percent: 60 },
    { name: '1.1.0', hosts: 60, online: 55, percent: 30 },
    { name: '', hosts: 20, online: 17, percent: 10, others: 2 },
  ]);
});

test('no hosts: no rows and no division by zero', () => {
  assert.deepEqual(inventoryRows([], 0, 3), []);
  assert.deepEqual(inventoryRows([{ name: 'x', hosts: 0, online: 0 }], 0, 3), [{ name: 'x', hosts: 0, online: 0, percent: 0 }]);
});
