// What a host's agent is given (the bus, its identity, driver, state store, host, journal)
// and the pure decisions about a step's command that need none of it.
import type { Bus, Logger } from '@yixing/common';
import type { Driver, StepContext, StepOutcome } from './drivers/driver.ts';
import type { Journal } from './journal.ts';
import type { AgentStateStore, InFlightStep } from './state/agent-state.store.ts';

/** The machine the agent runs on: its boot identity and how to reboot it. */
export interface HostEnv {
  bootId(): string;
  /** False for a chroot or container root: there is no machine to reboot. */
  rebootable: boolean;
  /** Reboots the host. The agent's process is expected to end; it resumes on start. */
  reboot(): Promise<void>;
}

export interface AgentIdentity {
  hostId: string;
  agentVersion: string;
  facts: { hostname: string; osId: string; osVersion: string; arch: string; kernel: string; roles?: string[] };
  labels: { pool: string; cluster: string; zone: string; rack: string; role: string; extra?: Record<string, string> };
}

export interface AgentDeps {
  bus: Bus;
  identity: AgentIdentity;
  driver: Driver;
  store: AgentStateStore;
  host: HostEnv;
  journal: Journal;
  /** Counts failed journal appends (the agent goes on without the record). */
  journalFailures?: { inc(): void };
  log: Logger;
  clock?: () => number;
  heartbeatIntervalMs: number;
  /** Backoff between registration attempts while the scheduler does not answer. */
  registerRetryMs?: number;
  /**
   * The host's roles and the digest of what the assessment reads, sent at registration
   * (HostFacts.roles, facts_digest). Absent: the identity's roles, no digest.
   */
  facts?: () => Promise<RefreshedFacts>;
  /** How often facts() is read again; a changed digest registers the host again. 0: never. Default 5 min. */
  factsRefreshMs?: number;
}

/** What an agent reads again while it runs: the roles found, the digest of the assessed facts, and the host's size (os/host-size.ts). */
export interface RefreshedFacts {
  roles: string[];
  factsDigest: string;
  packageCount?: number;
  installedBytes?: number;
  diskUsedBytes?: number;
}

export const DEFAULT_FACTS_REFRESH_MS = 300_000;

export type RollbackRequirement = NonNullable<StepContext['rollbackRequired']>;

/**
 * The step in flight with the rollback strategy its plan requires. Persisted with the
 * step (the state store writes it whole), so a step resumed after a crash keeps it.
 */
export type StepInFlight = InFlightStep & { rollbackRequired?: RollbackRequirement };

/**
 * The plan's rollback requirement as a driver reads it. "any" and empty (a scheduler that
 * predates the field) require nothing of their own: the profile's requirement applies.
 * The bus has checked the value against the field's rule.
 */
export function planRollbackRequirement(wire: string): RollbackRequirement | undefined {
  return wire === 'snapshot' || wire === 'packages' ? wire : undefined;
}

/**
 * A precheck's report with the digest of the facts it assessed (unless the driver wrote
 * one): the scheduler does not assess a host again while its registered digest equals it. Pure.
 */
export function withFactsDigest(outcome: StepOutcome, digest: string | undefined): StepOutcome {
  const report = outcome.report;
  if (!digest || typeof report !== 'object' || report === null || Array.isArray(report) || 'factsDigest' in report) return outcome;
  return { ...outcome, report: { ...report, factsDigest: digest } };
}
