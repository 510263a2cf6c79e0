// A simulated fleet: thousands of hosts in one process, each a full HostAgent with its own
// identity on the bus, its own state file and the simulate driver. A simulated reboot
// power-cycles one agent: it stops, stays silent for the reboot's duration, and starts
// again with a new boot id, exactly as a real host's agent would.
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, Logger } from '@yixing/common';
import { HostAgent } from './agent.ts';
import type { AgentIdentity, HostEnv } from './agent-deps.ts';
import { SimulateDriver, type SimulateOptions, simulatedHostSize, stepDurationMs, unitHash } from './drivers/simulate/simulate.driver.ts';
import { plantedFindings, plantedPreview, plantedRoles, type SimulatedHostFacts } from './drivers/simulate/simulated-assessment.ts';
import type { SimulatedBackups } from './drivers/simulate/simulated-backups.ts';
import type { Journal } from './journal.ts';
import { type AgentStateStore, FileAgentStateStore } from './state/agent-state.store.ts';
import { MemoryAgentStateStore } from './state/memory-agent-state.store.ts';

export interface FleetSpec {
  size: number;
  clusters: number;
  zones: number;
  racksPerZone: number;
  pool: string;
  prefix: string;
  osId: string;
  osVersion: string;
  /** Index of the first host, so several processes can split one fleet. */
  offset: number;
}

/**
 * Host i's cluster when clusters are of uneven sizes: cluster c of k holds about
 * 2(c+1) ÷ k(k+1) of the hosts (the largest a hundred times the smallest at k = 100), drawn
 * per host from its index alone, so that fleet processes splitting one fleet agree.
 */
export function unevenCluster(i: number, clusters: number): number {
  const u = unitHash('cluster', i) * clusters * (clusters + 1);
  // The first c whose cumulative weight (c+1)(c+2) reaches u.
  const c = Math.ceil((-3 + Math.sqrt(1 + 4 * u)) / 2);
  return Math.min(clusters - 1, Math.max(0, c));
}

/** How a fleet's hosts spread over clusters, and what the clusters are called (`<prefix>00`, …). */
export interface ClusterLayout {
  clusterSizes?: 'even' | 'uneven' | undefined;
  clusterPrefix?: string | undefined;
}

export function fleetIdentities(spec: FleetSpec, agentVersion: string, layout: ClusterLayout = {}): AgentIdentity[] {
  const width = String(Math.max(spec.size + spec.offset, 1)).length;
  return Array.from({ length: spec.size }, (_, k) => {
    const i = spec.offset + k;
    const cluster = layout.clusterSizes === 'uneven' ? unevenCluster(i, spec.clusters) : i % spec.clusters;
    const zone = cluster % spec.zones;
    const rack = Math.floor(i / spec.clusters) % spec.racksPerZone;
    const hostId = `${spec.prefix}-${String(i).padStart(width, '0')}`;
    return {
      hostId,
      agentVersion,
      facts: { hostname: hostId, osId: spec.osId, osVersion: spec.osVersion, arch: 'x86_64', kernel: 'simulated' },
      labels: {
        pool: spec.pool,
        cluster: `${layout.clusterPrefix ?? 'c'}${String(cluster).padStart(2, '0')}`,
        zone: `z${zone}`,
        rack: `z${zone}-r${rack}`,
        role: i % 3 === 0 ? 'db' : 'app',
      },
    };
  });
}

/**
 * What a simulated host is detected with: its identity's roles and those the rehearsal
 * plants on it, and a digest of everything its assessment would report (its facts, roles,
 * planted findings and upgrade size, the target). A host restarted with another release
 * or another rehearsal config has another digest; an unchanged one keeps it.
 */
export function simulatedHostFacts(identity: AgentIdentity, opts: SimulateOptions): SimulatedHostFacts {
  const { osId, osVersion, arch, kernel } = identity.facts;
  const roles = plantedRoles(opts, identity.hostId, identity.facts.roles);
  const assessed = {
    facts: { osId, osVersion, arch, kernel },
    roles,
    findings: plantedFindings(opts, identity.hostId),
    preview: plantedPreview(opts, identity.hostId),
    target: opts.target,
  };
  return {
    source: { id: osId, versionId: osVersion, arch },
    roles,
    factsDigest: createHash('sha256').update(JSON.stringify(assessed)).digest('hex'),
  };
}

/** One bus for every simulated host, or each host's own (its own credential, per host). */
export type FleetBus = Bus | ((hostId: string) => Bus);
export const busOfHost = (bus: FleetBus, hostId: string): Bus => (typeof bus === 'function' ? bus(hostId) : bus);

export interface FleetDeps {
  bus: FleetBus;
  log: Logger;
  journal: Journal;
  journalFailures?: { inc(): void };
  stateDir: string;
  simulate: SimulateOptions;
  /** Real backups through a store (the demo fleet); without them the backup step only waits. */
  backups?: SimulatedBackups;
  heartbeatIntervalMs: number;
  identities: AgentIdentity[];
}

export class SimulatedFleet {
  readonly agents = new Map<string, HostAgent>();
  readonly #deps: FleetDeps;
  readonly #bootIds = new Map<string, string>();
  readonly #driver: SimulateDriver;
  readonly #facts: Map<string, SimulatedHostFacts>;
  /** In-memory states, kept across a simulated power cycle as a disk would keep them. */
  readonly #memoryStores = new Map<string, MemoryAgentStateStore>();
  #stopped = false;

  constructor(deps: FleetDeps) {
    this.#deps = deps;
    this.#facts = new Map(deps.identities.map((id) => [id.hostId, simulatedHostFacts(id, deps.simulate)]));
    this.#driver = new SimulateDriver(deps.simulate, deps.backups, (hostId) => this.#factsOf(hostId));
  }

  #factsOf(hostId: string): SimulatedHostFacts {
    const facts = this.#facts.get(hostId);
    if (!facts) throw new Error(`${hostId} is not a host of this fleet`);
    return facts;
  }

  #hostEnv(identity: AgentIdentity): HostEnv {
    return {
      bootId: () => this.#bootIds.get(identity.hostId) as string,
      rebootable: true,
      reboot: async () => {
        // Power-cycle after the current call stack: the agent's step returns first.
        setImmediate(() => {
          this.#powerCycle(identity).catch((err: Error) =>
            this.#deps.log.error({ hostId: identity.hostId, err: err.message }, 'simulated power cycle failed'),
          );
        });
      },
    };
  }

  async #powerCycle(identity: AgentIdentity): Promise<void> {
    const agent = this.agents.get(identity.hostId);
    if (!agent || this.#stopped) return;
    await agent.stop();
    const downMs = stepDurationMs(this.#deps.simulate, identity.hostId, 'reboot', 1);
    await sleep(downMs);
    if (this.#stopped) return;
    this.#bootIds.set(identity.hostId, randomUUID());
    await this.#startUntilUp(identity);
  }

  /** A host that fails to come up is started again (with backoff), never left off for good. */
  async #startUntilUp(identity: AgentIdentity): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        await this.#startAgent(identity);
        return;
      } catch (err) {
        this.#deps.log.error(
          { hostId: identity.hostId, err: (err as Error).message, attempt },
          'simulated host did not start; trying again',
        );
        await sleep(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
  }

  #storeOf(hostId: string): AgentStateStore {
    if (this.#deps.simulate.state !== 'memory') return new FileAgentStateStore(this.#deps.stateDir, hostId, { durable: false });
    let store = this.#memoryStores.get(hostId);
    if (!store) {
      store = new MemoryAgentStateStore(hostId);
      this.#memoryStores.set(hostId, store);
    }
    return store;
  }

  async #startAgent(identity: AgentIdentity): Promise<void> {
    const size = simulatedHostSize(this.#deps.simulate, identity.hostId);
    const agent = new HostAgent({
      bus: busOfHost(this.#deps.bus, identity.hostId),
      identity,
      driver: this.#driver,
      store: this.#storeOf(identity.hostId),
      host: this.#hostEnv(identity),
      journal: this.#deps.journal,
      journalFailures: this.#deps.journalFailures,
      log: this.#deps.log,
      heartbeatIntervalMs: this.#deps.heartbeatIntervalMs,
      // Fixed for the process's life: a restart with another release or config changes them.
      facts: async () => {
        const { roles, factsDigest } = this.#factsOf(identity.hostId);
        return { roles, factsDigest, ...size };
      },
      factsRefreshMs: 0,
    });
    this.agents.set(identity.hostId, agent);
    try {
      await agent.start();
    } catch (err) {
      // What started of it (a subscription, the heartbeat) must not outlive the failure.
      await agent.stop().catch(() => undefined);
      throw err;
    }
  }

  async start(onProgress?: (started: number, total: number) => void): Promise<void> {
    const ids = this.#deps.identities;
    // A process start is a boot of every simulated host it carries.
    for (const id of ids) this.#bootIds.set(id.hostId, randomUUID());
    const batch = 200;
    for (let i = 0; i < ids.length; i += batch) {
      await Promise.all(ids.slice(i, i + batch).map((id) => this.#startAgent(id)));
      onProgress?.(Math.min(i + batch, ids.length), ids.length);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
  }

  static stateDirFor(base: string, prefix: string): string {
    return path.join(base, prefix);
  }
}
