// What a test run killed outright leaves behind: its fixture containers (the test
// command's own clean-up never ran) and, on Podman, their port forwards. Podman still
// lists such a container as running after its processes died with the session, and
// netavark's DNAT rule for its host port stays in the nat table. When Podman later gives
// that free port to a new fixture, the stale rule comes first and sends its clients to
// the dead container's address: a project CI run failed five browser tests that way
// (`connect ECONNREFUSED 127.0.0.1:41813`, the port of a NATS container left by a run
// killed 35 minutes before). So the test command removes, before any test, the fixtures
// whose run is gone and the forwards no container publishes.
import { readFileSync } from 'node:fs';
import { capture } from './exec.ts';
import type { ContainerEngine } from './toolchain.ts';

/** The label naming the process a fixture belongs to: `bootId/pid/startTicks`. */
export const OWNER_LABEL = 'yixing.test-owner';
const FIXTURE_LABEL = 'yixing.fixture';

export interface ProcessIdentity {
  bootId: string;
  pid: number;
  /** Field 22 of /proc/PID/stat: the start time in clock ticks since boot; tells a reused pid apart. */
  startTicks: string;
}

export function formatOwner(id: ProcessIdentity): string {
  return `${id.bootId}/${id.pid}/${id.startTicks}`;
}

export function parseOwner(label: string | undefined): ProcessIdentity | undefined {
  const m = /^([0-9a-f-]+)\/(\d+)\/(\d+)$/.exec(label ?? '');
  return m ? { bootId: m[1] as string, pid: Number(m[2]), startTicks: m[3] as string } : undefined;
}

/** The start time field of a /proc/PID/stat line (after the command name, which may hold spaces). */
export function startTicksOf(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields from the third (state) on; the start time is the 22nd of the line.
  return fields[22 - 3];
}

function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

function readStartTicks(pid: number): string | undefined {
  try {
    return startTicksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** This process's identity, for the owner label of the fixtures it starts. */
export function processOwner(pid = process.pid): string {
  return formatOwner({ bootId: bootId(), pid, startTicks: readStartTicks(pid) ?? '0' });
}

/** Whether the process named by an owner label still runs (same boot, same pid, same start). */
export function ownerAlive(owner: ProcessIdentity): boolean {
  return owner.bootId === bootId() && readStartTicks(owner.pid) === owner.startTicks;
}

export interface ListedContainer {
  Id: string;
  Labels?: Record<string, string> | null;
  Ports?: { host_port: number; range?: number; protocol?: string }[] | null;
}

/**
 * The fixture containers whose owner is gone. A fixture without an owner label comes
 * from a checkout older than the label, whose run cannot be told alive: it is removed.
 * Containers that are not fixtures are never touched.
 */
export function orphanedFixtures(containers: readonly ListedContainer[], alive: (owner: ProcessIdentity) => boolean): string[] {
  return containers
    .filter((c) => c.Labels?.[FIXTURE_LABEL] === 'true')
    .filter((c) => {
      const owner = parseOwner(c.Labels?.[OWNER_LABEL]);
      return owner === undefined || !alive(owner);
    })
    .map((c) => c.Id);
}

/** Every host port the containers publish (a range counts each of its ports). */
export function publishedPorts(containers: readonly ListedContainer[]): Set<number> {
  const ports = new Set<number>();
  for (const c of containers) {
    for (const p of c.Ports ?? []) {
      for (let i = 0; i < Math.max(1, p.range ?? 1); i++) ports.add(p.host_port + i);
    }
  }
  return ports;
}

/**
 * The rules of netavark's port forwarding (`iptables -t nat -S` lines) that forward a host
 * port no container publishes: the jump from NETAVARK-HOSTPORT-DNAT and the per-network
 * NETAVARK-DN-* rules (DNAT and mark) for that port. Other rules are not looked at.
 */
export function staleForwards(rules: string, published: ReadonlySet<number>): string[] {
  return rules
    .split('\n')
    .filter((line) => /^-A NETAVARK-(HOSTPORT-DNAT|DN-[0-9A-F]+) /.test(line))
    .filter((line) => {
      const port = /--dport (\d+)(?::(\d+))?/.exec(line);
      if (!port) return false;
      const from = Number(port[1]);
      const to = port[2] ? Number(port[2]) : from;
      for (let p = from; p <= to; p++) if (published.has(p)) return false;
      return true;
    });
}

/** `-A CHAIN args…` as the argument list of `iptables -t nat -D CHAIN args…` (quoted comments kept whole). */
export function deleteArgs(rule: string): string[] {
  const words = rule.match(/"[^"]*"|\S+/g) ?? [];
  return ['-t', 'nat', '-D', ...words.slice(1).map((w) => (w.startsWith('"') ? w.slice(1, -1) : w))];
}

export interface Reaped {
  containers: string[];
  forwards: string[];
}

/**
 * Removes the fixtures of runs that are gone, then the port forwards of no container.
 * The rules are read before the containers: a rule read then belongs to a container the
 * later listing shows, so a fixture being started meanwhile keeps its forward.
 */
export async function reapOrphanedFixtures(engine: ContainerEngine): Promise<Reaped> {
  const env = { ...process.env, DOCKER_HOST: engine.dockerHost };
  const list = async (): Promise<ListedContainer[]> => {
    const r = await capture(engine.cli, ['ps', '-a', '--format', 'json'], { env });
    if (r.code !== 0) throw new Error(`${engine.cli} ps: ${r.stderr.trim()}`);
    return engine.cli === 'podman' ? (JSON.parse(r.stdout || '[]') as ListedContainer[]) : dockerListing(r.stdout);
  };
  const containers = orphanedFixtures(await list(), ownerAlive);
  if (containers.length > 0) {
    const r = await capture(engine.cli, ['rm', '-f', ...containers], { env });
    if (r.code !== 0) throw new Error(`${engine.cli} rm -f ${containers.join(' ')}: ${r.stderr.trim()}`);
  }
  // Docker keeps its own forwards (docker-proxy and its DOCKER chain); only netavark's are ours to mend.
  if (engine.cli !== 'podman') return { containers, forwards: [] };
  const rules = await capture('iptables', ['-w', '-t', 'nat', '-S'], { env });
  if (rules.code !== 0) return { containers, forwards: [] };
  const forwards = staleForwards(rules.stdout, publishedPorts(await list()));
  for (const rule of forwards) {
    // A rule removed meanwhile (its container's own teardown) is already what we want.
    await capture('iptables', ['-w', ...deleteArgs(rule)], { env });
  }
  return { containers, forwards };
}

/** `docker ps --format json` prints one object a line, labels as `k=v,k=v`. */
function dockerListing(out: string): ListedContainer[] {
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const c = JSON.parse(line) as { ID: string; Labels?: string };
      const labels = Object.fromEntries(
        (c.Labels ?? '')
          .split(',')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      return { Id: c.ID, Labels: labels };
    });
}
