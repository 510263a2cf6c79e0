// The kubernetes workload driver with the real kubectl against an API server faked in
// memory (tests/fixtures/fake-kube-apiserver.ts; no kube-apiserver can run here): drain
// cordons the node and evicts its pods (DaemonSet pods stay), undrain uncordons it only if
// it was schedulable before and requires it Ready.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { drainStep, HostRoot, parseWorkloadHooks, stepContext, undrainStep, workloadProblems } from '@yixing/host-agent/internal';
import { type FakeKubeApi, startFakeKubeApi } from '../fixtures/fake-kube-apiserver.ts';

let api: FakeKubeApi;
let dir: string;

before(async () => {
  api = await startFakeKubeApi('node1');
  dir = await mkdtemp(path.join(tmpdir(), 'yx-kube-root-'));
});

after(async () => {
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function steps() {
  const site = parseWorkloadHooks(
    [
      'kubernetes-node:',
      `  kubectl: [kubectl, --cache-dir, ${api.cacheDir}]`,
      `  kubeconfig: ${api.kubeconfig}`,
      '  node: node1',
      '  drainTimeoutSeconds: 30',
      '',
    ].join('\n'),
    'site.yaml',
  );
  const runData = new Map<string, unknown>();
  const ctx = (step: 'drain' | 'undrain' | 'postcheck') => stepContext({ hostId: 'h1', runId: 'r1', step, profile: 'p' }, runData);
  const root = new HostRoot(dir);
  return {
    drain: () => drainStep(ctx('drain'), root, undefined, { site }),
    undrain: () => undrainStep(ctx('undrain'), { site }),
    problems: () => workloadProblems(ctx('postcheck'), { site }),
  };
}

test('kubectl cordons and drains the node, then uncordons it; DaemonSet pods stay', async () => {
  api.pods.set('shop/web-1', { namespace: 'shop', name: 'web-1', owner: 'ReplicaSet' });
  api.pods.set('shop/web-2', { namespace: 'shop', name: 'web-2', owner: 'ReplicaSet' });
  api.pods.set('kube-system/proxy-1', { namespace: 'kube-system', name: 'proxy-1', owner: 'DaemonSet' });
  const s = steps();
  const drained = await s.drain();
  assert.equal(drained.ok, true, JSON.stringify(drained));
  const rec = (drained.report as { workloads: { record: { wasUnschedulable: boolean; evicted: string[] } }[] }).workloads[0]?.record;
  assert.deepEqual(rec?.evicted.sort(), ['web-1', 'web-2']);
  assert.equal(rec?.wasUnschedulable, false);
  assert.equal(api.node.unschedulable, true, 'cordoned');
  assert.deepEqual([...api.pods.keys()], ['kube-system/proxy-1'], 'the DaemonSet pod is ignored');
  assert.ok(api.requests.includes('POST /api/v1/namespaces/shop/pods/web-1/eviction'), 'evicted through the API, not deleted');

  const back = await s.undrain();
  assert.deepEqual(back, { ok: true, report: { workloads: [{ role: 'kubernetes-node', restored: ['node1'], problems: [] }] } });
  assert.equal(api.node.unschedulable, false, 'uncordoned');
  assert.deepEqual(await s.problems(), []);
  assert.deepEqual(
    api.unknown.filter((u) => !u.startsWith('GET /version')),
    [],
    'every request kubectl made is one the fake knows',
  );
});

test('a node cordoned before the drain stays cordoned; one that is not Ready fails the undrain', async () => {
  api.node.unschedulable = true;
  const s = steps();
  assert.equal((await s.drain()).ok, true);
  const back = await s.undrain();
  assert.equal(back.ok, true, JSON.stringify(back));
  assert.equal(api.node.unschedulable, true, 'left cordoned, as it was');

  api.node.unschedulable = false;
  const t = steps();
  assert.equal((await t.drain()).ok, true);
  api.node.ready = false;
  const notReady = await t.undrain();
  assert.equal(!notReady.ok && notReady.code, 'WORKLOADS_NOT_RESTORED');
  assert.match(!notReady.ok ? notReady.message : '', /node node1 is not Ready/);
  assert.deepEqual(await t.problems(), ['node node1 is not Ready']);
});
