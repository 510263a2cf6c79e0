// The libvirt workload driver's shutdown mode against a real libvirtd and virsh (libvirt's
// test hypervisor, tests/fixtures/libvirt-test-daemon.ts): drain records the running guests
// and shuts them down until they are off, undrain starts exactly those and checks them; a
// guest that cannot come back fails the undrain naming it. (Live migration is not
// supported by the test hypervisor: migrate mode is checked against recorded commands in
// services/host-agent/src/workloads/cluster-drivers.test.ts.)
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { drainStep, HostRoot, parseWorkloadHooks, stepContext, undrainStep, workloadProblems } from '@yixing/host-agent/internal';
import { type LibvirtTestDaemon, startLibvirtTestDaemon } from '../fixtures/libvirt-test-daemon.ts';

let daemon: LibvirtTestDaemon;
let dir: string;

before(async () => {
  daemon = await startLibvirtTestDaemon();
  dir = await mkdtemp(path.join(tmpdir(), 'yx-libvirt-root-'));
});

after(async () => {
  await daemon?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const running = async (): Promise<string[]> =>
  (await daemon.virsh('list', '--name', '--state-running'))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();

test('libvirt shutdown mode: the running guests are shut down, started again after, and a lost one is named', async () => {
  await daemon.startGuest('web');
  await daemon.startGuest('db');
  // Defined but off before the drain: stays off.
  await daemon.startGuest('idle');
  await daemon.virsh('destroy', 'idle');
  assert.deepEqual(await running(), ['db', 'test', 'web']);

  const site = parseWorkloadHooks(`libvirt: {mode: shutdown, connect: "${daemon.uri}", shutdownTimeoutSeconds: 30}`, 'site.yaml');
  const runData = new Map<string, unknown>();
  const ctx = (step: 'drain' | 'undrain' | 'postcheck') => stepContext({ hostId: 'h1', runId: 'r1', step, profile: 'p' }, runData);
  const root = new HostRoot(dir);

  const drained = await drainStep(ctx('drain'), root, undefined, { site });
  assert.equal(drained.ok, true, JSON.stringify(drained));
  const record = (drained.report as { workloads: { record: { domains: string[] } }[] }).workloads[0]?.record;
  assert.deepEqual(record?.domains.sort(), ['db', 'test', 'web']);
  assert.deepEqual(await running(), [], 'every guest is off');
  for (const d of ['db', 'test', 'web']) assert.equal((await daemon.virsh('domstate', d)).trim(), 'shut off');

  const back = await undrainStep(ctx('undrain'), { site });
  assert.equal(back.ok, true, JSON.stringify(back));
  assert.deepEqual(await running(), ['db', 'test', 'web']);
  assert.equal((await daemon.virsh('domstate', 'idle')).trim(), 'shut off', 'a guest off before the drain stays off');
  assert.deepEqual(await workloadProblems(ctx('postcheck'), { site }), []);

  // A guest that is gone after the upgrade: undrain and the post-check name it.
  await daemon.virsh('destroy', 'db');
  await daemon.virsh('undefine', 'db');
  const lost = await undrainStep(ctx('undrain'), { site });
  assert.equal(!lost.ok && lost.code, 'WORKLOADS_NOT_RESTORED');
  assert.match(!lost.ok ? lost.message : '', /guest db did not come back: .*db/);
  assert.deepEqual(await workloadProblems(ctx('postcheck'), { site }), ['guest db is unknown here']);
});
