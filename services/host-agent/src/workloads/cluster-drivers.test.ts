// The libvirt, Kubernetes and Hadoop drivers against recorded command lines (their real
// tools' runs are described in docs/architecture.md), and their output parsers.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { CommandResult } from '../os/command.ts';
import {
  datanodeStatus,
  hadoopDrivers,
  nodeManagerState,
  withEntryRestored,
  withHost,
  withMaintenance,
  withoutHost,
} from './hadoop.driver.ts';
import { evictedPods, kubernetesDriver, parseNodeState } from './kubernetes.driver.ts';
import { libvirtDriver, parseDomState } from './libvirt.driver.ts';
import { parseWorkloadHooks, type WorkloadHooks } from './workload-config.ts';
import type { WorkloadEnv } from './workload-driver.ts';

type Answer = (argv: string[]) => Partial<CommandResult>;

function env(answer: Answer): WorkloadEnv & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    port: {
      run: async (argv) => {
        calls.push(argv.join(' '));
        return { code: 0, stdout: '', stderr: '', ...answer(argv) };
      },
    },
    hostname: 'node1',
    log: () => undefined,
    signal: new AbortController().signal,
    sleep: async () => undefined,
  };
}

const hooks = (yaml: string): WorkloadHooks => parseWorkloadHooks(yaml, 'test');

test('libvirt shutdown mode: running guests are shut down until off, and started after', async () => {
  const state = new Map([
    ['web', 'running'],
    ['db', 'running'],
  ]);
  let polls = 0;
  const e = env((argv) => {
    const [, , , verb, d = ''] = argv;
    if (verb === 'list') return { stdout: 'web\ndb\n\n' };
    if (verb === 'domstate') {
      // db takes two polls to power off.
      if (state.get(d) === 'shutting' && (d !== 'db' || ++polls > 2)) state.set(d, 'shut off');
      return state.has(d)
        ? { stdout: `${state.get(d) === 'shutting' ? 'in shutdown' : state.get(d)}\n\n` }
        : { code: 1, stderr: 'no domain' };
    }
    if (verb === 'shutdown') state.set(d, 'shutting');
    if (verb === 'start') state.set(d, 'running');
    return {};
  });
  const hook = hooks('libvirt: {mode: shutdown, connect: "test:///default"}').libvirt as NonNullable<WorkloadHooks['libvirt']>;
  const rec = await libvirtDriver.drain(e, hook, async () => undefined, undefined);
  assert.deepEqual(rec.domains, ['web', 'db']);
  assert.deepEqual([...state.values()], ['shut off', 'shut off']);
  assert.ok(e.calls.includes('virsh -c test:///default shutdown web'));
  assert.deepEqual(await libvirtDriver.undrain(e, hook, rec), { restored: ['web', 'db'], problems: [] });
  assert.deepEqual(await libvirtDriver.check(e, hook, rec), []);
  state.set('db', 'shut off');
  assert.deepEqual(await libvirtDriver.check(e, hook, rec), ['guest db is shut off']);
});

test('libvirt migrate mode: guests go live to the peer and come back from it', async () => {
  const e = env((argv) => {
    if (argv[3] === 'list') return { stdout: 'vm1\n' };
    if (argv[3] === 'domstate') return { stdout: 'running\n' };
    return {};
  });
  const hook = hooks('libvirt: {mode: migrate, peer: "qemu+ssh://peer/system", returnUri: "qemu+ssh://node1/system"}')
    .libvirt as NonNullable<WorkloadHooks['libvirt']>;
  await libvirtDriver.drain(e, hook, async () => undefined, undefined);
  assert.ok(
    e.calls.includes('virsh -c qemu:///system migrate --live --persistent --undefinesource vm1 qemu+ssh://peer/system'),
    e.calls.join('\n'),
  );
  assert.equal(parseDomState(1, ''), '');
  assert.equal(parseDomState(0, 'shut off\n\n'), 'shut off');
});

test('kubernetes: cordon and drain; uncordon only a node that was schedulable before', async () => {
  let unschedulable = false;
  const node = () => JSON.stringify({ spec: { unschedulable }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  const e = env((argv) => {
    const verb = argv[3];
    if (verb === 'get') return { stdout: node() };
    if (verb === 'cordon') unschedulable = true;
    if (verb === 'uncordon') unschedulable = false;
    if (verb === 'drain') return { stdout: 'node/node1 cordoned\nevicting pod default/web-1\npod/web-1 evicted\nnode/node1 drained\n' };
    return {};
  });
  const hook = hooks('kubernetes-node: {kubeconfig: /etc/k.conf, drainTimeoutSeconds: 90}')['kubernetes-node'] as NonNullable<
    WorkloadHooks['kubernetes-node']
  >;
  const rec = await kubernetesDriver.drain(e, hook, async () => undefined, undefined);
  assert.deepEqual(rec, {
    kubectl: ['kubectl', '--kubeconfig', '/etc/k.conf'],
    node: 'node1',
    wasUnschedulable: false,
    evicted: ['web-1'],
  });
  assert.ok(e.calls.includes('kubectl --kubeconfig /etc/k.conf drain node1 --ignore-daemonsets --delete-emptydir-data --timeout=90s'));
  assert.deepEqual(await kubernetesDriver.undrain(e, hook, rec), { restored: ['node1'], problems: [] });
  assert.equal(unschedulable, false);
  // Cordoned by someone else before: stays cordoned, and that is no problem.
  unschedulable = true;
  const rec2 = await kubernetesDriver.drain(e, hook, async () => undefined, undefined);
  const calls = e.calls.length;
  assert.deepEqual(await kubernetesDriver.undrain(e, hook, rec2), { restored: ['node1'], problems: [] });
  assert.ok(!e.calls.slice(calls).some((c) => c.includes('uncordon')));
  assert.deepEqual(parseNodeState('{"status":{"conditions":[{"type":"Ready","status":"False"}]}}'), { unschedulable: false, ready: false });
  assert.deepEqual(evictedPods('pod/a evicted\npod/b deleted\nnode/x drained\n'), ['a', 'b']);
});

test('hosts files: a line added and removed, a maintenance entry set and put back exactly', () => {
  assert.deepEqual(withHost('dn2\n', 'dn1'), { text: 'dn2\ndn1\n', added: true });
  assert.deepEqual(withHost('dn1\ndn2', 'dn1'), { text: 'dn1\ndn2', added: false });
  assert.equal(withHost('', 'dn1').text, 'dn1\n');
  assert.equal(withoutHost('dn2\ndn1\n', 'dn1'), 'dn2\n');
  const before = '[{"hostName":"dn1","port":9866,"upgradeDomain":"ud1"},{"hostName":"dn2"}]';
  const m = withMaintenance(before, 'dn1', 'hosts.json');
  assert.deepEqual(m.previous, { hostName: 'dn1', port: 9866, upgradeDomain: 'ud1' });
  assert.deepEqual(JSON.parse(m.text)[0], { hostName: 'dn1', port: 9866, upgradeDomain: 'ud1', adminState: 'IN_MAINTENANCE' });
  assert.deepEqual(
    JSON.parse(withEntryRestored(m.text, 'dn1', m.previous, 'hosts.json')).sort((a: { hostName: string }, b: { hostName: string }) =>
      a.hostName.localeCompare(b.hostName),
    ),
    JSON.parse(before),
  );
  assert.deepEqual(JSON.parse(withEntryRestored(withMaintenance('[]', 'dn9', 'h').text, 'dn9', null, 'h')), []);
  assert.throws(() => withMaintenance('{"hostName":"x"}', 'dn1', 'hosts.json'), /hosts\.json is not a JSON array/);
});

test('dfsadmin -report and yarn node -list are read per host', () => {
  const report = [
    'Configured Capacity: 1',
    '',
    '-------------------------------------------------',
    'Live datanodes (2):',
    '',
    'Name: 10.0.0.1:9866 (dn1.example)',
    'Hostname: dn1.example',
    'Decommission Status : In maintenance',
    'Configured Capacity: 1',
    '',
    'Name: 10.0.0.2:9866 (dn2.example)',
    'Hostname: dn2.example',
    'Decommission Status : Normal',
  ].join('\n');
  assert.equal(datanodeStatus(report, 'dn1.example'), 'In maintenance');
  assert.equal(datanodeStatus(report, 'dn2.example'), 'Normal');
  assert.equal(datanodeStatus(report, 'dn3.example'), undefined);
  const list =
    'Total Nodes:2\n         Node-Id\t     Node-State\tNode-Http-Address\tNumber-of-Running-Containers\n nm1:45454\t        RUNNING\tnm1:8042\t0\n nm2:45454\t DECOMMISSIONED\tnm2:8042\t0\n';
  assert.equal(nodeManagerState(list, 'nm1'), 'RUNNING');
  assert.equal(nodeManagerState(list, 'nm2'), 'DECOMMISSIONED');
});

test('hdfs maintenance and yarn decommission: files changed, refreshed, waited for, and put back', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-hadoop-'));
  try {
    const hostsFile = path.join(dir, 'dfs.hosts.json');
    const exclude = path.join(dir, 'yarn.exclude');
    await writeFile(hostsFile, '[{"hostName":"node1"},{"hostName":"node2"}]');
    await writeFile(exclude, 'old-node\n');
    let status = 'Normal';
    let nm = 'RUNNING';
    const e = env((argv) => {
      const line = argv.join(' ');
      if (line === 'hdfs dfsadmin -refreshNodes') status = status === 'Normal' ? 'In maintenance' : 'Normal';
      if (line === 'hdfs dfsadmin -report')
        return { stdout: `Name: 10.0.0.1:9866 (node1)\nHostname: node1\nDecommission Status : ${status}\n` };
      if (line.startsWith('yarn rmadmin -refreshNodes -g')) nm = 'DECOMMISSIONED';
      else if (line === 'yarn rmadmin -refreshNodes') nm = 'RUNNING';
      if (line === 'yarn node -list -all') return { stdout: ` node1:45454\t ${nm}\tnode1:8042\t0\n` };
      return {};
    });
    const h = hooks(
      `hdfs-datanode: {hostsFile: ${hostsFile}}\nyarn-nodemanager: {excludeFile: ${exclude}, decommissionTimeoutSeconds: 60}\n`,
    );
    const hdfsHook = h['hdfs-datanode'] as NonNullable<WorkloadHooks['hdfs-datanode']>;
    const yarnHook = h['yarn-nodemanager'] as NonNullable<WorkloadHooks['yarn-nodemanager']>;
    const hr = await hadoopDrivers.hdfs.drain(e, hdfsHook, async () => undefined, undefined);
    assert.equal(JSON.parse(await readFile(hostsFile, 'utf8'))[0].adminState, 'IN_MAINTENANCE');
    const yr = await hadoopDrivers.yarn.drain(e, yarnHook, async () => undefined, undefined);
    assert.equal(await readFile(exclude, 'utf8'), 'old-node\nnode1\n');
    assert.ok(e.calls.includes('yarn rmadmin -refreshNodes -g 60 -client'));
    assert.deepEqual(await hadoopDrivers.yarn.undrain(e, yarnHook, yr), { restored: ['node1'], problems: [] });
    assert.equal(await readFile(exclude, 'utf8'), 'old-node\n');
    assert.deepEqual(await hadoopDrivers.hdfs.undrain(e, hdfsHook, hr), { restored: ['node1'], problems: [] });
    assert.deepEqual(JSON.parse(await readFile(hostsFile, 'utf8')), [{ hostName: 'node2' }, { hostName: 'node1' }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
