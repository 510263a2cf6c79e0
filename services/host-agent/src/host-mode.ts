// One real host's agent on the bus (YX_AGENT_MODE=host): its identity and facts read from
// the root it migrates, the real migration driver for its package manager, state that
// survives a reboot (fsync'd), and a reboot that really reboots the machine.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bus, Logger, Registry } from '@yixing/common';
import { HostAgent } from './agent.ts';
import type { AgentIdentity, HostEnv } from './agent-deps.ts';
import { BusBackupStore } from './backup/bus-backup-store.ts';
import { MigrationDriver } from './drivers/migration.driver.ts';
import { FileJournal, journalFailureCounter } from './journal.ts';
import type { KnowledgeRule } from './knowledge/rule.ts';
import { mustRun, realCommands, runCommand } from './os/command.ts';
import { hostFactsReader } from './os/facts-digest.ts';
import { HostRoot } from './os/host-root.ts';
import { AptPackageManager } from './pm/apt.ts';
import { DnfPackageManager } from './pm/dnf.ts';
import type { Profile } from './profiles/profile.ts';
import { FileAgentStateStore } from './state/agent-state.store.ts';
import { detectRoles } from './workloads/roles.ts';
import type { WorkloadHooks } from './workloads/workload-config.ts';

export interface HostModeOptions {
  bus: Bus;
  log: Logger;
  registry: Registry;
  hostId: string;
  rootPath: string;
  driver: 'apt' | 'dnf';
  labels: AgentIdentity['labels'];
  stateDir: string;
  profiles: Map<string, Profile>;
  /** The shipped knowledge rules and the site's. */
  knowledgeRules: KnowledgeRule[];
  trustedMirrors: boolean;
  /** The site's workload hooks (YX_AGENT_WORKLOADS). */
  workloads: WorkloadHooks;
  heartbeatIntervalMs: number;
  agentVersion: string;
}

async function bootId(root: HostRoot): Promise<string> {
  if (!root.isHost) return `chroot-${randomUUID()}`;
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}

export async function buildHostAgent(o: HostModeOptions): Promise<HostAgent> {
  const root = new HostRoot(o.rootPath);
  const release = await root.osRelease();
  const boot = await bootId(root);
  const host: HostEnv = {
    bootId: () => boot,
    rebootable: root.isHost,
    reboot: async () => {
      await mustRun(['systemctl', 'reboot']);
    },
  };
  const packageManager = (p: Profile) =>
    p.driver === 'apt'
      ? new AptPackageManager(root, p, { trusted: o.trustedMirrors })
      : new DnfPackageManager(root, p, { trusted: o.trustedMirrors });
  return new HostAgent({
    bus: o.bus,
    identity: {
      hostId: o.hostId,
      agentVersion: o.agentVersion,
      facts: {
        hostname: os.hostname(),
        osId: release.id,
        osVersion: release.versionId,
        arch: (await runCommand(['uname', '-m'])).stdout.trim(),
        kernel: (await runCommand(['uname', '-r'])).stdout.trim(),
      },
      labels: o.labels,
    },
    driver: new MigrationDriver({
      name: o.driver,
      root,
      hostId: o.hostId,
      profiles: o.profiles,
      // On the bus the scheduler upgrades only after the backup service verified the
      // backup, so backups always go through it (a local directory is for standalone runs).
      store: new BusBackupStore({ bus: o.bus, hostId: o.hostId, log: (line) => o.log.info({ hostId: o.hostId }, line) }),
      packageManager,
      knowledgeRules: o.knowledgeRules,
      workloads: { site: o.workloads },
    }),
    // The roles found on the root (inventory, selector.role) and the digest the assessment reads.
    facts: hostFactsReader(root.path, () => detectRoles(root, realCommands)),
    store: new FileAgentStateStore(path.join(o.stateDir, 'agent'), o.hostId, { durable: true }),
    host,
    journal: new FileJournal(path.join(o.stateDir, 'journal.jsonl')),
    journalFailures: journalFailureCounter(o.registry),
    log: o.log,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
  });
}
