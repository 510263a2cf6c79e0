// The inventory counted for the fleet overview: hosts by OS release, by agent version and
// by connection (online: heard from within the heartbeat grace). One pass over the hosts
// the inventory holds in memory — the database is not asked: on FerretDB v1 an aggregation
// scans the whole collection in the proxy, and liveness is only in memory anyway.

export interface SummaryHost {
  _id: string;
  facts: { osId: string; osVersion: string };
  agentVersion: string;
}

export interface OsReleaseCount {
  /** os-release ID and VERSION_ID; empty when the agent did not report them. */
  osId: string;
  osVersion: string;
  hosts: number;
  online: number;
}

export interface AgentVersionCount {
  /** Empty: an agent too old to report its version. */
  agentVersion: string;
  hosts: number;
  online: number;
}

export interface InventorySummary {
  total: number;
  online: number;
  offline: number;
  /** Most hosts first, ties by name. */
  byOsRelease: OsReleaseCount[];
  byAgentVersion: AgentVersionCount[];
}

const byHostsThenKey =
  <T extends { hosts: number }>(key: (c: T) => string) =>
  (a: T, b: T) =>
    b.hosts - a.hosts || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** Counts `hosts`; `isOnline` says whether one was heard from within the grace. */
export function summariseInventory(hosts: Iterable<SummaryHost>, isOnline: (hostId: string) => boolean): InventorySummary {
  const os = new Map<string, OsReleaseCount>();
  const agents = new Map<string, AgentVersionCount>();
  let total = 0;
  let online = 0;
  for (const h of hosts) {
    const up = isOnline(h._id) ? 1 : 0;
    total += 1;
    online += up;
    // A NUL cannot be in either os-release field: the key is unambiguous.
    const osKey = `${h.facts.osId}\u0000${h.facts.osVersion}`;
    const o = os.get(osKey) ?? { osId: h.facts.osId, osVersion: h.facts.osVersion, hosts: 0, online: 0 };
    o.hosts += 1;
    o.online += up;
    os.set(osKey, o);
    const a = agents.get(h.agentVersion) ?? { agentVersion: h.agentVersion, hosts: 0, online: 0 };
    a.hosts += 1;
    a.online += up;
    agents.set(h.agentVersion, a);
  }
  return {
    total,
    online,
    offline: total - online,
    byOsRelease: [...os.values()].sort(byHostsThenKey((c) => `${c.osId} ${c.osVersion}`)),
    byAgentVersion: [...agents.values()].sort(byHostsThenKey((c) => c.agentVersion)),
  };
}
