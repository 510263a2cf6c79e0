import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { HostRoot } from '../os/host-root.ts';
import type { UpgradePreview } from '../pm/package-manager.ts';
import { loadProfiles, type Profile } from '../profiles/profile.ts';
import { enabledServices, gatherFacts, interfaceFacts, kernelArgFacts, measurePath, packageFacts } from './facts.ts';
import { loadKnowledgeRules } from './rule.ts';

let dir: string;
let root: HostRoot;
let centos: Profile;

const put = async (rel: string, content: string): Promise<void> => {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), content);
};

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yx-facts-'));
  root = new HostRoot(dir);
  centos = (await loadProfiles()).get('centos-7-to-openeuler-22.03') as Profile;
  await put('etc/sysconfig/network-scripts/ifcfg-eth0', 'DEVICE=eth0\nBOOTPROTO=dhcp\n');
  await put('etc/sysconfig/network-scripts/ifcfg-lo', 'DEVICE=lo\n');
  await put('etc/sysconfig/network-scripts/ifcfg-uplink', 'DEVICE="eth1"\n');
  await put('etc/network/interfaces', 'auto lo\niface lo inet loopback\nallow-hotplug eth2\niface eth2 inet dhcp\n');
  await put('etc/NetworkManager/system-connections/wired.nmconnection', '[connection]\nid=wired\ninterface-name=ens3\n');
  await put('etc/netplan/50-cloud.yaml', 'network:\n  ethernets:\n    id0:\n      set-name: eth3\n    enp1s0: {}\n');
  await put('etc/systemd/network/10-a.network', '[Match]\nName=eth4 eth5\n');
  await put(
    'etc/default/grub',
    'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="crashkernel=auto rhgb quiet net.ifnames=0"\nGRUB_CMDLINE_LINUX_DEFAULT=\'splash\'\n',
  );
  for (const [wants, unit] of [
    ['multi-user.target.wants', 'sshd.service'],
    ['multi-user.target.wants', 'remote-fs.target'],
    ['getty.target.wants', 'getty@tty1.service'],
    ['sockets.target.requires', 'postgresql.service'],
  ] as const) {
    await mkdir(path.join(dir, 'etc/systemd/system', wants), { recursive: true });
    await symlink(`/usr/lib/systemd/system/${unit}`, path.join(dir, 'etc/systemd/system', wants, unit));
  }
  await mkdir(path.join(dir, 'etc/rc2.d'), { recursive: true });
  await symlink('../init.d/exim4', path.join(dir, 'etc/rc2.d/S01exim4'));
  await symlink('../init.d/sshd', path.join(dir, 'etc/rc2.d/K01sshd'));
  await put('etc/yum.repos.d/CentOS-Base.repo', '[base]\nbaseurl=https://vault.centos.org/7.9.2009/os/$basearch/\n');
  await put(
    'etc/yum.repos.d/epel.repo',
    '[epel]\nmetalink=https://mirrors.fedoraproject.org/metalink?repo=epel-7\n[epel-debug]\nenabled=0\nbaseurl=https://x/epel-debug/\n',
  );
  await put('usr/local/bin/report', '#!/usr/bin/python\nprint "x"\n');
  await put('var/lib/pgsql/data/base/1', 'x'.repeat(1000));
  await put('var/lib/pgsql/data/PG_VERSION', '13\n');
  await symlink('/etc/passwd', path.join(dir, 'var/lib/pgsql/link'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('interface names from ifcfg, ifupdown, NetworkManager, netplan and networkd configuration (not lo)', async () => {
  assert.deepEqual(
    (await interfaceFacts(root)).map((i) => `${i.name} ${i.file}`),
    [
      'eth0 /etc/sysconfig/network-scripts/ifcfg-eth0',
      'eth1 /etc/sysconfig/network-scripts/ifcfg-uplink',
      'eth2 /etc/network/interfaces',
      'ens3 /etc/NetworkManager/system-connections/wired.nmconnection',
      'eth3 /etc/netplan/50-cloud.yaml',
      'enp1s0 /etc/netplan/50-cloud.yaml',
      'eth4 /etc/systemd/network/10-a.network',
      'eth5 /etc/systemd/network/10-a.network',
    ],
  );
});

test("kernel arguments of the boot loader's default; a root that is not the host has no running kernel to read", async () => {
  assert.deepEqual(await kernelArgFacts(root), ['crashkernel=auto', 'rhgb', 'quiet', 'net.ifnames=0', 'splash']);
});

test('enabled services: systemd wants/requires links to services, SysV start links', async () => {
  assert.deepEqual(await enabledServices(root), ['exim4', 'getty@tty1', 'postgresql', 'sshd']);
});

test('the size of a data path counts its regular files, links not followed; a missing path has none', async () => {
  assert.deepEqual(await measurePath(root, '/var/lib/pgsql'), { bytes: 1003, mountPoint: null });
  assert.deepEqual(await measurePath(root, '/var/lib/pgsql/data/PG_VERSION'), { bytes: 3, mountPoint: null });
  assert.equal(await measurePath(root, '/var/lib/nothing'), null);
});

test('packages joined with the fate and target version the preview gives them', () => {
  const installed = [
    { name: 'a', arch: 'x86_64', version: '1', held: false, source: 'a-src' },
    { name: 'b', arch: 'x86_64', version: '1', held: false },
  ];
  const preview: UpgradePreview = {
    reachable: true,
    error: '',
    downloadBytes: 0,
    installBytes: 0,
    upgrades: 1,
    installs: 0,
    removals: [],
    changes: [{ name: 'a', arch: 'x86_64', from: '1', to: '2', fate: 'upgraded' as const }],
  };
  assert.deepEqual(packageFacts(installed, preview), [
    { name: 'a', arch: 'x86_64', version: '1', source: 'a-src', fate: 'upgraded', to: '2' },
    { name: 'b', arch: 'x86_64', version: '1' },
  ]);
  assert.deepEqual(packageFacts(installed, null)[0], { name: 'a', arch: 'x86_64', version: '1', source: 'a-src' });
});

test("gathered facts: the rules' file globs with content, enabled repositories known or not, no modules in a chroot", async () => {
  const rules = await loadKnowledgeRules();
  const facts = await gatherFacts({ root, profile: centos, installed: [], preview: null, running: null }, rules);
  assert.equal(facts.modules, null);
  assert.deepEqual(facts.files['/usr/local/{bin,sbin}/*'], [
    { path: '/usr/local/bin/report', type: 'file', text: '#!/usr/bin/python\nprint "x"\n' },
  ]);
  assert.deepEqual(facts.files['/etc/udev/rules.d/*.rules'], []);
  assert.deepEqual(
    facts.repositories.map((r) => [r.uri, r.known]),
    [
      ['https://vault.centos.org/7.9.2009/os/$basearch/', true],
      ['https://mirrors.fedoraproject.org/metalink?repo=epel-7', false],
    ],
  );
});

test('on the live host, loaded kernel modules are read from /proc/modules (unknown where the kernel has none)', async () => {
  const host = await gatherFacts({ root: new HostRoot('/'), profile: centos, installed: [], preview: null, running: [] }, []);
  const listed = await readFile('/proc/modules', 'utf8').catch(() => null);
  if (listed === null) assert.equal(host.modules, null);
  else
    assert.deepEqual(
      host.modules,
      listed
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[0]),
    );
});
