// Every program the set-up, the tests and the services start on this machine, with the
// Debian package that brings it. The set-up installs what is missing from this table and
// then checks that each program answers, so a fresh machine never finds out half-way
// through the tests (it did: netavark's `iptables` was never installed, and 48 tests
// failed on a fresh clone while CI, on a machine that had it, was green).
// tests/contract/host-programs.test.ts fails when code starts a program this table lacks.

export interface HostProgram {
  /** Debian package that installs it; `null` when the machine's image brings it (Go). */
  package: string | null;
  /** Why the project needs it, for the error a missing one gets. */
  for: string;
}

/**
 * Groups of the set-up: the engine for testcontainers, what the OS-root tests use, what
 * builds and checks the compiled agent, what packages it (npm run package:agent), and the
 * Alertmanager the alerting receivers' tests forward to (infra/dev/prometheus-programs.ts),
 * the Prometheus that checks the rules and scrapes a running rehearsal, and the
 * browser the console's tests drive (never a browser download: Debian's chromium), and
 * the PostgreSQL server behind FerretDB's pg backend (infra/dev/postgresql.ts).
 */
export type ProgramGroup = 'base' | 'containers' | 'os-roots' | 'agent' | 'packages' | 'alerting' | 'metrics' | 'browser' | 'postgresql';

export const HOST_PROGRAMS: Record<ProgramGroup, Record<string, HostProgram>> = {
  base: {
    go: { package: null, for: 'building nats-server, FerretDB and Mailpit' },
    sh: { package: 'dash', for: 'shell steps' },
    bash: { package: 'bash', for: "running the README's commands as written" },
    git: { package: 'git', for: 'listing the tracked sources in the contract tests' },
    curl: { package: 'curl', for: "asking the container engine's API socket whether it answers" },
    tar: { package: 'tar', for: 'backup archives' },
    ln: { package: 'coreutils', for: 'test roots' },
    mkdir: { package: 'coreutils', for: 'test roots' },
    cat: { package: 'coreutils', for: 'test roots' },
    getconf: { package: 'libc-bin', for: 'clock ticks per second, to read CPU time from /proc in the agent benchmark' },
    mv: { package: 'coreutils', for: 'test roots' },
    uname: { package: 'coreutils', for: 'host facts' },
    chroot: { package: 'coreutils', for: 'running package managers inside a root' },
    mount: { package: 'mount', for: '/proc and /dev inside a root' },
    umount: { package: 'mount', for: '/proc and /dev inside a root' },
    mountpoint: { package: 'util-linux', for: 'checking mounts inside a root' },
    systemctl: { package: 'systemd', for: 'running services and reboots on a real host' },
    openssl: { package: 'openssl', for: 'test certificates of the APIs over HTTPS' },
    ip: { package: 'iproute2', for: 'network namespaces and veth links of the partition chaos test' },
  },
  containers: {
    podman: { package: 'podman', for: 'the container engine behind testcontainers' },
    runc: { package: 'runc', for: "podman's OCI runtime" },
    '/usr/lib/podman/netavark': { package: 'netavark', for: "podman's container networks (published ports)" },
    '/usr/lib/podman/aardvark-dns': { package: 'aardvark-dns', for: "podman's network DNS" },
    iptables: { package: 'iptables', for: 'netavark: the port forwarding of published ports' },
  },
  'os-roots': {
    debootstrap: { package: 'debootstrap', for: 'the Debian 11 test root' },
    'apt-get': { package: 'apt', for: 'the Debian package mirror' },
    'apt-cache': { package: 'apt', for: 'the Debian package mirror' },
    'apt-ftparchive': { package: 'apt-utils', for: 'indexing the local apt mirror' },
    dpkg: { package: 'dpkg', for: 'auditing a Debian root' },
    'dpkg-query': { package: 'dpkg', for: 'checking installed packages' },
    'dpkg-deb': { package: 'dpkg', for: 'real Debian binaries (C library, shells) in the synthetic RPM roots' },
    rpm: { package: 'rpm', for: 'RPM roots' },
    rpmbuild: { package: 'rpm', for: 'synthetic RPM packages' },
    dnf: { package: 'dnf', for: 'the dnf migration driver tests' },
    createrepo_c: { package: 'createrepo-c', for: 'synthetic RPM repositories' },
    xz: { package: 'xz-utils', for: 'compressed package indexes' },
    btrfs: { package: 'btrfs-progs', for: 'btrfs snapshot rollback (subvolume snapshot, delete, set-default)' },
    'mkfs.btrfs': { package: 'btrfs-progs', for: 'the btrfs test file system on a loop device' },
    losetup: { package: 'mount', for: 'loop devices for the btrfs snapshot tests' },
    findmnt: { package: 'util-linux', for: 'which file system and device hold a root' },
    stat: { package: 'coreutils', for: 'the file system type of a root' },
    du: { package: 'coreutils', for: 'the space a copy of a directory root needs' },
    cp: { package: 'coreutils', for: 'copy snapshots of a directory root (cp -a --reflink=auto)' },
    rm: { package: 'coreutils', for: 'removing a rolled-back directory root' },
    sync: { package: 'coreutils', for: 'making a copy snapshot durable' },
    lvs: { package: 'lvm2', for: 'LVM thin snapshot rollback: is / a thin volume (hosts with LVM)' },
    lvcreate: { package: 'lvm2', for: 'LVM thin snapshot rollback: the snapshot' },
    lvremove: { package: 'lvm2', for: 'LVM thin snapshot rollback: a left-over snapshot' },
    lvconvert: { package: 'lvm2', for: 'LVM thin snapshot rollback: the merge' },
    virsh: { package: 'libvirt-clients', for: 'the libvirt workload driver against a real libvirtd (its test hypervisor)' },
    libvirtd: { package: 'libvirt-daemon', for: "libvirt's test hypervisor for the libvirt workload driver test" },
    kubectl: { package: 'kubernetes-client', for: 'the kubernetes workload driver test (real kubectl, API server faked)' },
    '/bin/busybox': { package: 'busybox-static', for: 'the FROM-scratch image of the container-host workload tests (static busybox)' },
  },
  agent: {
    npm: { package: null, for: 'fetching the aarch64 Bun runtime (npm pack) for the agent executables' },
    objdump: { package: 'binutils', for: 'checking the agent executables need nothing newer than glibc 2.17' },
    'qemu-aarch64-static': { package: 'qemu-user-static', for: 'starting the aarch64 agent executable on this x86_64 machine' },
    '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1': {
      package: 'libc6-arm64-cross',
      for: 'the aarch64 glibc the aarch64 agent executable runs on under qemu',
    },
  },
  packages: {
    rpmbuild: { package: 'rpm', for: 'the yixing-agent RPM (npm run package:agent)' },
    'dpkg-deb': { package: 'dpkg', for: 'the yixing-agent deb (npm run package:agent)' },
    rpm: { package: 'rpm', for: 'installing the yixing-agent RPM into a test root' },
    'systemd-analyze': { package: 'systemd', for: 'verifying the yixing-agent systemd unit' },
  },
  alerting: {
    'prometheus-alertmanager': {
      package: 'prometheus-alertmanager',
      for: 'the Alertmanager receiver tests: a real Alertmanager to forward to, and its webhook v4 payload beside ours',
    },
    service: { package: 'init-system-helpers', for: 'stopping the Alertmanager service its package starts (the tests start their own)' },
    'update-rc.d': { package: 'init-system-helpers', for: 'keeping the Alertmanager service from starting at boot' },
  },
  metrics: {
    prometheus: { package: 'prometheus', for: 'the scrape test: every dashboard and rule expression answered by a real Prometheus' },
    promtool: { package: 'prometheus', for: 'promtool check rules and promtool test rules on infra/prometheus' },
    service: { package: 'init-system-helpers', for: 'stopping the Prometheus service its package starts (the tests start their own)' },
    'update-rc.d': { package: 'init-system-helpers', for: 'keeping the Prometheus service from starting at boot' },
  },
  browser: {
    chromium: { package: 'chromium', for: 'the console browser tests (tests/browser/): playwright-core drives it headless' },
    '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc': {
      package: 'fonts-wqy-microhei',
      for: 'Chinese text in the console screenshots (without a CJK font chromium draws boxes)',
    },
  },
  postgresql: {
    // Debian keeps initdb and postgres off PATH, in /usr/lib/postgresql/VERSION/bin; its
    // wrapper pg_ctlcluster (postgresql-common, which `postgresql` depends on) stands for them.
    pg_ctlcluster: {
      package: 'postgresql',
      for: "FerretDB's pg backend in the store benchmark and its test (a throwaway cluster: initdb, postgres, createdb)",
    },
  },
};

/** Every program of the table, whatever its group. */
export function allHostPrograms(): Map<string, HostProgram> {
  return new Map(Object.values(HOST_PROGRAMS).flatMap((g) => Object.entries(g)));
}

/**
 * Which Debian packages to install for the programs that are missing, and the programs no
 * package can bring (to be reported). Pure: `present` says whether a program exists.
 */
export function planInstall(
  programs: Record<string, HostProgram>,
  present: (program: string) => boolean,
): { packages: string[]; unavailable: { program: string; for: string }[] } {
  const packages = new Set<string>();
  const unavailable: { program: string; for: string }[] = [];
  for (const [program, p] of Object.entries(programs)) {
    if (present(program)) continue;
    if (p.package === null) unavailable.push({ program, for: p.for });
    else packages.add(p.package);
  }
  return { packages: [...packages].sort(), unavailable };
}
