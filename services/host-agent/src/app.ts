// Builds the agent side from injected parts: the simulated fleet (many hosts in one
// process) and its metrics. main.ts reads the configuration and wires these.
import { type Bus, Gauge, type Logger, type Registry } from '@yixing/common';
import type { SimulateOptions } from './drivers/simulate/simulate.driver.ts';
import { type FleetSpec, fleetIdentities, SimulatedFleet } from './fleet.ts';
import { type Journal, journalFailureCounter } from './journal.ts';

export const AGENT_VERSION = '0.1.0';

export interface FleetAppDeps {
  bus: Bus;
  log: Logger;
  registry: Registry;
  journal: Journal;
  stateDir: string;
  spec: FleetSpec;
  simulate: SimulateOptions;
  heartbeatIntervalMs: number;
}

export function buildFleetApp(deps: FleetAppDeps): SimulatedFleet {
  const fleet = new SimulatedFleet({
    bus: deps.bus,
    log: deps.log,
    journal: deps.journal,
    journalFailures: journalFailureCounter(deps.registry),
    stateDir: SimulatedFleet.stateDirFor(deps.stateDir, deps.spec.prefix),
    simulate: deps.simulate,
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
    identities: fleetIdentities(deps.spec, AGENT_VERSION),
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
