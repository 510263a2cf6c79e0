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
  // By id, then by version: no key is built per host (300,000 of them).
  const os = new Map<string, Map<string, OsReleaseCount>>();
  const agents = new Map<string, AgentVersionCount>();
  let total = 0;
  let online = 0;
  for (const h of hosts) {
    const up = isOnline(h._id) ? 1 : 0;
    total += 1;
    online += up;
    const { osId, osVersion } = h.facts;
    let versions = os.get(osId);
    if (!versions) {
      versions = new Map();
      os.set(osId, versions);
    }
    let o = versions.get(osVersion);
    if (!o) {
      o = { osId, osVersion, hosts: 0, online: 0 };
      versions.set(osVersion, o);
    }
    o.hosts += 1;
    o.online += up;
    let a = agents.get(h.agentVersion);
    if (!a) {
      a = { agentVersion: h.agentVersion, hosts: 0, online: 0 };
      agents.set(h.agentVersion, a);
    }
    a.hosts += 1;
    a.online += up;
  }
  return {
    total,
    online,
    offline: total - online,
    byOsRelease: [...os.values()].flatMap((v) => [...v.values()]).sort(byHostsThenKey((c) => `${c.osId} ${c.osVersion}`)),
    byAgentVersion: [...agents.values()].sort(byHostsThenKey((c) => c.agentVersion)),
  };
}
