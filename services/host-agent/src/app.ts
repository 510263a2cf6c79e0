// Builds the agent side from injected parts: the simulated fleet (many hosts in one
// process) and its metrics. main.ts reads the configuration and wires these.
import { Gauge, type Logger, type Registry } from '@yixing/common';
import { BusBackupStore } from './backup/bus-backup-store.ts';
import { AGENT_VERSION } from './build-info.ts';
import type { SimulateOptions } from './drivers/simulate/simulate.driver.ts';
import { SimulatedBackups } from './drivers/simulate/simulated-backups.ts';
import { busOfHost, type FleetBus, type FleetSpec, fleetIdentities, SimulatedFleet } from './fleet.ts';
import { type Journal, journalFailureCounter } from './journal.ts';

export { AGENT_VERSION };

export interface FleetAppDeps {
  bus: FleetBus;
  log: Logger;
  registry: Registry;
  journal: Journal;
  stateDir: string;
  spec: FleetSpec;
  simulate: SimulateOptions;
  /** `service`: every backup step stores a real (small) backup through the backup service. */
  backups?: 'none' | 'service';
  heartbeatIntervalMs: number;
}

/** Backups of simulated hosts through the backup service, one store per host. */
function serviceBackups(deps: FleetAppDeps): SimulatedBackups {
  const stores = new Map<string, BusBackupStore>();
  return new SimulatedBackups({
    release: { id: deps.spec.osId, versionId: deps.spec.osVersion },
    storeFor(hostId) {
      let store = stores.get(hostId);
      if (!store) {
        store = new BusBackupStore({ bus: busOfHost(deps.bus, hostId), hostId });
        stores.set(hostId, store);
      }
      return store;
    },
  });
}

export function buildFleetApp(deps: FleetAppDeps): SimulatedFleet {
  const fleet = new SimulatedFleet({
    bus: deps.bus,
    log: deps.log,
    journal: deps.journal,
    journalFailures: journalFailureCounter(deps.registry),
    stateDir: SimulatedFleet.stateDirFor(deps.stateDir, deps.spec.prefix),
    simulate: deps.simulate,
    ...(deps.backups === 'service' ? { backups: serviceBackups(deps) } : {}),
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
    identities: fleetIdentities(deps.spec, AGENT_VERSION, deps.simulate),
  });
  new Gauge({
    name: 'yx_agent_hosts',
    help: 'Simulated hosts carried by this process',
    registers: [deps.registry],
    collect() {
      this.set(fleet.agents.size);
    },
  });
  new Gauge({
    name: 'yx_agent_hosts_registered',
    help: 'Simulated hosts whose registration the scheduler accepted',
    registers: [deps.registry],
    collect() {
      this.set([...fleet.agents.values()].filter((a) => a.registered).length);
    },
  });
  return fleet;
}
