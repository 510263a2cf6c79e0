// What every workload driver shares: how it runs programs, what drain returns (the record
// undrain puts back), and the failures. Records live in the run's data (the agent's state
// directory), never only in the root: a snapshot rollback reverts the root, and undrain
// must still know what to bring back.
import { YxError } from '@yixing/common/base';
import type { StepContext } from '../drivers/driver.ts';
import { CommandError, type CommandPort, type CommandResult } from '../os/command.ts';
import type { Role } from './workload-config.ts';

export interface WorkloadEnv {
  /**
   * Runs the workload CLIs (podman, virsh, kubectl, hdfs, yarn) on the agent's machine,
   * not in the root: they talk to daemons and clusters that run beside the root (on a
   * real host the root is `/`, so it is the same machine).
   */
  port: CommandPort;
  hostname: string;
  log: StepContext['log'];
  signal: AbortSignal;
  /** Waits; unit tests pass one that returns at once. */
  sleep(ms: number): Promise<void>;
}

export interface WorkloadDriver<Hook, Rec> {
  readonly role: Role;
  /**
   * Records what runs and takes it away. `save` persists the record before the first
   * change; `previous` is the record of an interrupted or repeated drain of this run,
   * reused so a second drain does not record the already stopped set as empty.
   */
  drain(env: WorkloadEnv, hook: Hook, save: (rec: Rec) => Promise<void>, previous: Rec | undefined): Promise<Rec>;
  /** Puts back exactly what the record holds and checks it is back; idempotent. */
  undrain(env: WorkloadEnv, hook: Hook, rec: Rec): Promise<RestoreResult>;
  /** What of the record is not running now (the post-check's view). */
  check(env: WorkloadEnv, hook: Hook, rec: Rec): Promise<string[]>;
}

export interface RestoreResult {
  /** What was brought back (names). */
  restored: string[];
  /** What is not back, each naming the workload and why. */
  problems: string[];
}

export class WorkloadCommandError extends YxError {
  readonly code = 'WORKLOAD_COMMAND_FAILED';
  readonly retryable = false;
}

/** Runs a workload CLI; throws naming the command and the end of its output on failure. */
export async function mustRunWorkload(env: WorkloadEnv, argv: string[]): Promise<CommandResult> {
  const r = await env.port.run(argv, { signal: env.signal });
  if (r.code !== 0) {
    const e = new CommandError(argv, r);
    throw new WorkloadCommandError(e.message, { details: { argv, code: r.code } });
  }
  return r;
}

/** Polls `done` every `everyMs` until it answers true or `timeoutMs` passed; returns whether it did. */
export async function pollUntil(env: WorkloadEnv, done: () => Promise<boolean>, timeoutMs: number, everyMs = 2000): Promise<boolean> {
  for (let waited = 0; ; waited += everyMs) {
    if (await done()) return true;
    if (waited >= timeoutMs) return false;
    await env.sleep(everyMs);
  }
}
