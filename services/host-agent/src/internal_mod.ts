// Internal surface of @yixing/host-agent (`@yixing/host-agent/internal`), for the tests in
// tests/ that drive its parts directly: drivers, backup stores, the OS helpers.

export { type BackupStore, FileBackupStore, sha256File } from './backup/backup-store.ts';
export { BusBackupStore, publishArchivePieces } from './backup/bus-backup-store.ts';
export type { StepContext } from './drivers/driver.ts';
export { MigrationDriver } from './drivers/migration.driver.ts';
export { hostSizeFactor, simulatedHostSize, stepDurationMs } from './drivers/simulate/simulate.driver.ts';
export { parseSimulateConfig } from './drivers/simulate/simulate-config.ts';
export { stepContext } from './drivers/step-context.testing.ts';
export { mergeAgentEnv, parseAgentEnv } from './enrol/agent-config.ts';
export { CredentialRenewer } from './enrol/credential-renewal.ts';
export { agentCredsFile, runEnrol } from './enrol/enrol.command.ts';
export { EnrolmentRefusedError, enrolHost } from './enrol/enrol-host.ts';
export * from './mod.ts';
export { mustRun, runCommand } from './os/command.ts';
export { type DurableFs, nodeFs } from './os/durable-file.ts';
export { HostRoot, RootEscapeError } from './os/host-root.ts';
export { treeDigest } from './os/tree-digest.ts';
export { APT_CHANGE, NONINTERACTIVE } from './pm/apt.ts';
export { AptRoot } from './pm/apt-root.ts';
export type { InstalledPackage, PackageManager } from './pm/package-manager.ts';
export { BUILTIN_PROFILES_DIR, loadProfiles } from './profiles/profile.ts';
export { snapshotDriver } from './snapshot/snapshot-drivers.ts';
export { parseWorkloadHooks } from './workloads/workload-config.ts';
export { drainStep, undrainStep, workloadProblems } from './workloads/workload-steps.ts';
