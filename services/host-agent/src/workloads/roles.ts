// Which workloads a host runs, read from its root (reads only): container runtimes with a
// socket or containers, libvirt, a kubelet, HDFS datanodes and YARN node managers (their
// units and configuration). The roles go into the host's facts (inventory, `selector.role`)
// and the assessment; a profile's workload hooks apply to the roles found here.
import type { CommandPort } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { Role } from './workload-config.ts';

const UNIT_DIRS = ['lib/systemd/system', 'usr/lib/systemd/system', 'etc/systemd/system'];
const units = (...names: string[]): string[] =>
  names.flatMap((n) => [...UNIT_DIRS.map((d) => `/${d}/${n}`), `/etc/init.d/${n.replace(/\.service$/, '')}`]);

/** The paths whose presence in the root is evidence of a role. */
export const EVIDENCE_PATHS = {
  podman: ['/usr/bin/podman'],
  docker: ['/usr/bin/docker', '/usr/bin/dockerd'],
  containerSockets: ['/run/podman/podman.sock', '/var/run/docker.sock', '/run/docker.sock', ...units('podman.socket', 'docker.socket')],
  containerStores: ['/var/lib/containers/storage/overlay-containers/containers.json', '/var/lib/docker/containers'],
  libvirt: ['/usr/sbin/libvirtd', '/usr/sbin/virtqemud', ...units('libvirtd.service', 'virtqemud.service')],
  kubelet: ['/var/lib/kubelet/config.yaml', '/etc/kubernetes/kubelet.conf', ...units('kubelet.service')],
  hdfsDatanode: units('hadoop-hdfs-datanode.service'),
  yarnNodemanager: units('hadoop-yarn-nodemanager.service'),
} as const;

export interface RoleEvidence {
  /** The evidence paths that exist in the root. */
  present: ReadonlySet<string>;
  /** Running containers the runtime lists (a live host only; 0 in a directory root). */
  runningContainers: number;
}

/** The roles the evidence shows, in a stable order. Pure. */
export function rolesFromEvidence(e: RoleEvidence): Role[] {
  const any = (paths: readonly string[]): boolean => paths.some((p) => e.present.has(p));
  const roles: Role[] = [];
  const runtime = any(EVIDENCE_PATHS.podman) || any(EVIDENCE_PATHS.docker);
  // A runtime installed but never used is no container host.
  if (runtime && (e.runningContainers > 0 || any(EVIDENCE_PATHS.containerSockets) || any(EVIDENCE_PATHS.containerStores)))
    roles.push('containers');
  if (any(EVIDENCE_PATHS.libvirt)) roles.push('libvirt');
  if (any(EVIDENCE_PATHS.kubelet)) roles.push('kubernetes-node');
  if (any(EVIDENCE_PATHS.hdfsDatanode)) roles.push('hdfs-datanode');
  if (any(EVIDENCE_PATHS.yarnNodemanager)) roles.push('yarn-nodemanager');
  return roles;
}

async function runningContainers(root: HostRoot, port: CommandPort | undefined, present: ReadonlySet<string>): Promise<number> {
  // Only a live host's runtime lists the root's containers; a directory root's runtime is not running.
  if (!root.isHost || !port) return 0;
  for (const cli of ['podman', 'docker'] as const) {
    if (!EVIDENCE_PATHS[cli].some((p) => present.has(p))) continue;
    const r = await port.run([cli, 'ps', '-q']).catch(() => ({ code: 1, stdout: '' }));
    if (r.code === 0) return r.stdout.split('\n').filter(Boolean).length;
  }
  return 0;
}

/** Detects the roles of the host whose root this is. */
export async function detectRoles(root: HostRoot, port?: CommandPort): Promise<Role[]> {
  const present = new Set(
    Object.values(EVIDENCE_PATHS)
      .flat()
      .filter((p) => root.exists(p)),
  );
  return rolesFromEvidence({ present, runningContainers: await runningContainers(root, port, present) });
}
