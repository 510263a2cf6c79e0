// A driver does the work of each step on one host. The agent owns the protocol (events,
// logs, persistence, dedupe, timeouts); a driver only runs a step and reports through ctx.
import type { ClusterProbe, FailureKind, StepName } from '@yixing/common';

export interface StepContext {
  hostId: string;
  runId: string;
  step: StepName;
  attempt: number;
  profile: string;
  dryRun: boolean;
  backupId: string;
  /** The plan of the run, when a scheduler sent the step. */
  planId: string;
  /**
   * The earlier run of this host this run continues (single operations: a backup, later an
   * upgrade, later a rollback), '' for none. Its data is already in runData when the agent
   * still kept it.
   */
  continuesRunId?: string;
  probe: ClusterProbe | undefined;
  /**
   * The rollback strategy the plan (host mode) or the operator (standalone `--rollback`)
   * requires; absent: the profile's requirement, else any.
   */
  rollbackRequired?: 'snapshot' | 'packages' | 'any';
  /** Aborted on cancel or when the step's timeout passes. */
  signal: AbortSignal;
  /** True when this step was interrupted (agent crash) and is being resumed. */
  resumed: boolean;
  /** What the step saved with checkpoint() before the interruption. */
  lastCheckpoint: unknown;
  log(line: string, source?: 'stdout' | 'stderr' | 'agent'): void;
  progress(percent: number, message?: string): void;
  /** Persists resumable progress; survives an agent crash. */
  checkpoint(data: unknown): Promise<void>;
  /** Data a step leaves for the later steps of the same run (the backup id, ...), persisted. */
  runData: RunData;
}

export interface RunData {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown): Promise<void>;
}

export interface StepSuccess {
  ok: true;
  /** Typed step output (e.g. the assessment report), sent to the scheduler as JSON. */
  report?: unknown;
}

export interface StepFailure {
  ok: false;
  code: string;
  message: string;
  retryable: boolean;
  kind: FailureKind;
  report?: unknown;
}

export type StepOutcome = StepSuccess | StepFailure;

export interface Driver {
  readonly name: 'simulate' | 'apt' | 'dnf';
  run(ctx: StepContext): Promise<StepOutcome>;
}
