// What a plan that carries one operation keeps of it (a plan of one host, its id the
// operation's): the operations API reads its state from the plan and its run.
import type { Capability } from '../host-runs/run-paths.ts';

export interface OperationRef {
  capability: Capability;
  hostId: string;
  /** Where its state changes are posted, signed; '' for none. */
  callbackUrl: string;
  /** The verified backup an upgrade or a rollback relies on ('' for the others). */
  backupId: string;
  /** The earlier run of the host the operation continues (its backup, snapshot, drained workloads). */
  continuesRunId: string;
}
