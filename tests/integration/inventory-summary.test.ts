// GET /v1/inventory/summary on real NATS and FerretDB: hosts that registered (a simulated
// fleet and protocol peers with other OS releases and agent versions) counted by OS
// release, by agent version and by connection; a peer that stops its heartbeats is
// counted offline once the grace has passed; a viewer may read it, nobody unauthenticated.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Bus, createRegistry, silentLogger } from '@yixing/common';
import { AGENT_VERSION } from '@yixing/host-agent';
import type { InventorySummary } from '@yixing/scheduler';
import { type InProcessStack, startInProcess } from '../fixtures/in-process.ts';
import { waitUntil } from '../fixtures/wait.ts';

const GRACE_MS = 1_500;
let stack: InProcessStack;
let bus: Bus;
const timers = new Map<string, NodeJS.Timeout>();

/** Registers a host as an agent of `agentVersion` on `osId osVersion` would, and keeps it alive. */
async function peer(hostId: string, osId: string, osVersion: string, agentVersion: string): Promise<void> {
  await bus.request(
    'agentRegistration',
    { hostId, agentVersion, driver: 'dnf', facts: { hostname: hostId, osId, osVersion }, labels: { pool: 'inv', cluster: hostId } },
    5_000,
  );
  const hb = () => bus.publish('heartbeat', { hostId, atMs: Date.now() });
  hb();
  timers.set(hostId, setInterval(hb, 300));
}

before(async () => {
  stack = await startInProcess('inventory_summary', { heartbeatGraceMs: GRACE_MS });
  bus = new Bus({ nc: stack.nc, log: silentLogger(), registry: createRegistry('peers', { processMetrics: false }) });
  await stack.addFleet({ pool: 'inv', prefix: 'inv', size: 3, clusters: 1 });
  await peer('c7-a', 'centos', '7', '0.9.0');
  await peer('c7-b', 'centos', '7', '0.9.0');
  await peer('c8-a', 'centos', '8', AGENT_VERSION);
});

after(async () => {
  for (const t of timers.values()) clearInterval(t);
  await stack?.stop();
});

const summary = async (): Promise<InventorySummary> => {
  const res = await stack.inject({ method: 'GET', url: '/v1/inventory/summary' }, 'viewer');
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
};

test('hosts are counted by OS release and by agent version, most first, all online', async () => {
  const s = await waitUntil(
    async () => {
      const v = await summary();
      return { done: v.total === 6 && v.online === 6, value: v, state: JSON.stringify(v) };
    },
    { what: 'six hosts online' },
  );
  assert.deepEqual(s, {
    total: 6,
    online: 6,
    offline: 0,
    byOsRelease: [
      { osId: 'debian', osVersion: '11', hosts: 3, online: 3 },
      { osId: 'centos', osVersion: '7', hosts: 2, online: 2 },
      { osId: 'centos', osVersion: '8', hosts: 1, online: 1 },
    ],
    byAgentVersion: [
      { agentVersion: AGENT_VERSION, hosts: 4, online: 4 },
      { agentVersion: '0.9.0', hosts: 2, online: 2 },
    ],
  });
});

test('a host whose heartbeats stop is offline once the grace has passed, still in its release', async () => {
  clearInterval(timers.get('c7-b'));
  const s = await waitUntil(
    async () => {
      const v = await summary();
      return { done: v.offline === 1, value: v, state: JSON.stringify(v) };
    },
    { what: 'c7-b offline' },
  );
  assert.equal(s.online, 5);
  assert.deepEqual(s.byOsRelease[1], { osId: 'centos', osVersion: '7', hosts: 2, online: 1 });
  assert.deepEqual(s.byAgentVersion[1], { agentVersion: '0.9.0', hosts: 2, online: 1 });
});

test('unauthenticated: 401; an unknown query field: 400 naming it', async () => {
  const anon = await stack.scheduler.api.inject({ method: 'GET', url: '/v1/inventory/summary' });
  assert.equal(anon.statusCode, 401);
  const bad = await stack.inject({ method: 'GET', url: '/v1/inventory/summary?pool=x' }, 'viewer');
  assert.equal(bad.statusCode, 400, bad.body);
  assert.match(bad.body, /pool/);
});
