import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HostRoot } from '../os/host-root.ts';
import { detectRoles, rolesFromEvidence } from './roles.ts';

const roles = (paths: string[], runningContainers = 0) => rolesFromEvidence({ present: new Set(paths), runningContainers });

test('a container runtime makes a container host only with a socket, stored containers or running ones', () => {
  assert.deepEqual(roles(['/usr/bin/podman']), [], 'installed, never used');
  assert.deepEqual(roles(['/usr/bin/podman'], 2), ['containers']);
  assert.deepEqual(roles(['/usr/bin/docker', '/var/run/docker.sock']), ['containers']);
  assert.deepEqual(roles(['/usr/bin/podman', '/lib/systemd/system/podman.socket']), ['containers']);
  assert.deepEqual(roles(['/usr/bin/podman', '/var/lib/containers/storage/overlay-containers/containers.json']), ['containers']);
  assert.deepEqual(roles(['/var/run/docker.sock']), [], 'a socket without the CLI drains nothing');
});

test('libvirt, kubelet, HDFS datanode and YARN node manager are found by their units and configuration', () => {
  assert.deepEqual(roles(['/usr/sbin/libvirtd']), ['libvirt']);
  assert.deepEqual(roles(['/usr/lib/systemd/system/virtqemud.service']), ['libvirt']);
  assert.deepEqual(roles(['/var/lib/kubelet/config.yaml']), ['kubernetes-node']);
  assert.deepEqual(roles(['/etc/systemd/system/kubelet.service']), ['kubernetes-node']);
  assert.deepEqual(roles(['/etc/init.d/hadoop-hdfs-datanode', '/lib/systemd/system/hadoop-yarn-nodemanager.service']), [
    'hdfs-datanode',
    'yarn-nodemanager',
  ]);
  assert.deepEqual(roles([]), []);
});

test('roles are detected in a directory root from its files (no runtime is asked)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-roles-'));
  try {
    for (const f of ['usr/bin/podman', 'run/podman/podman.sock', 'var/lib/kubelet/config.yaml']) {
      await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await writeFile(path.join(dir, f), '');
    }
    const asked: string[][] = [];
    const port = {
      run: async (argv: string[]) => {
        asked.push(argv);
        return { code: 0, stdout: 'x\n', stderr: '' };
      },
    };
    assert.deepEqual(await detectRoles(new HostRoot(dir), port), ['containers', 'kubernetes-node']);
    assert.deepEqual(asked, [], "a directory root's containers are not this machine's");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
