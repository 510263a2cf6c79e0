// Public surface of @yixing/host-agent, for tests and benchmarks that run agents in process.
export { AGENT_VERSION, buildFleetApp, type FleetAppDeps } from './app.ts';
export { defaultSimulateOptions, type FailureRule, type SimulateOptions } from './drivers/simulate/simulate.driver.ts';
export { fleetIdentities, type SimulatedFleet } from './fleet.ts';
export { buildHostAgent, type HostModeOptions } from './host-mode.ts';
export { FileJournal, type Journal, type JournalEntry, noJournal } from './journal.ts';
