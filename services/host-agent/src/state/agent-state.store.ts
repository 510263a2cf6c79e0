// The agent's local state: the step in flight and the outcomes of recent commands. Written
// atomically (temp file + rename; fsync'ed on a real host) before anything is acknowledged or published, so that
// after a crash or a reboot the agent resumes or reports exactly where it stopped.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StepName } from '@yixing/common';
import type { StepFailure } from '../drivers/driver.ts';
import { type DurableFs, mkdirDurable, nodeFs, writeFileAtomic } from '../os/durable-file.ts';

export interface InFlightStep {
  commandId: string;
  runId: string;
  step: StepName;
  attempt: number;
  profile: string;
  dryRun: boolean;
  backupId: string;
  planId?: string;
  /** The earlier run of this host whose data this run starts with (single operations). */
  continuesRunId?: string;
  timeoutSeconds: number;
  probe?: { kind: string; target: string; timeoutMs: number } | undefined;
  startedAt: number;
  /** Boot id when the step started: a reboot step succeeded once it differs. */
  bootId: string;
  checkpoint?: unknown;
  /** Times this step was resumed after an interruption. */
  resumes: number;
  /** The command's trace context (W3C `traceparent`): the step's span continues it, after a restart too. */
  traceparent?: string;
}

export interface FinishedStep {
  commandId: string;
  runId: string;
  step: StepName;
  attempt: number;
  ok: boolean;
  failure?: Omit<StepFailure, 'ok' | 'report'> | undefined;
  reportJson: string;
  finishedAt: number;
  /** The terminal event reached the stream; until then it is re-published at start. */
  published: boolean;
}

export interface AgentState {
  hostId: string;
  current?: InFlightStep | undefined;
  recent: FinishedStep[];
  /** Facts a simulated host changes when it migrates (os version). */
  facts?: { osId: string; osVersion: string } | undefined;
  /** What steps of a run left for later steps (the backup id, ...), by run id. */
  runData?: RunDataByRun;
  /** The highest scheduler leader epoch a command came with (leader-epoch.ts). */
  leaderEpoch?: number;
}

/**
 * How many runs' data are kept, the least recently written dropped first. Generous: a run
 * of single operations continues one from days ago (its backup), with assessment runs in
 * between that each leave a little.
 */
export const RUN_DATA_LIMIT = 64;

export type RunDataByRun = Record<string, Record<string, unknown>>;

/** The `limit` most recently written runs (insertion order is write order, see withRunValue). Pure. */
export function recentRuns(runData: RunDataByRun, limit = RUN_DATA_LIMIT): RunDataByRun {
  const runs = Object.entries(runData);
  return runs.length > limit ? Object.fromEntries(runs.slice(-limit)) : runData;
}

/** `runData` with `key` of run `runId` set, that run now the most recently written. Pure. */
export function withRunValue(runData: RunDataByRun, runId: string, key: string, value: unknown): RunDataByRun {
  const { [runId]: run, ...others } = runData;
  return recentRuns({ ...others, [runId]: { ...run, [key]: value } });
}

/**
 * `runData` with run `runId` starting from the data of run `continuesRunId`, or undefined
 * when there is nothing to copy: the run already has data (a resumed or later step; the
 * copy is done once) or the earlier run's data is not kept. Both runs become the most
 * recently written, so a retry continuing the same earlier run still finds it. Pure.
 */
export function continuedRunData(runData: RunDataByRun, runId: string, continuesRunId: string): RunDataByRun | undefined {
  const from = runData[continuesRunId];
  if (!continuesRunId || continuesRunId === runId || runData[runId] !== undefined || from === undefined) return undefined;
  const { [continuesRunId]: _, ...others } = runData;
  return recentRuns({ ...others, [continuesRunId]: from, [runId]: structuredClone(from) });
}

/** How many finished commands are remembered for dedupe and re-publication. */
export const RECENT_LIMIT = 64;

export interface AgentStateStore {
  load(): Promise<AgentState>;
  save(state: AgentState): Promise<void>;
}

export class FileAgentStateStore implements AgentStateStore {
  readonly #file: string;
  readonly #hostId: string;
  readonly #durable: boolean;
  readonly #fs: DurableFs;

  /**
   * @param durable fsync the file and its directory: on a real host the state must survive
   *   a power cut or a reboot; simulated hosts only need to survive a process crash.
   */
  constructor(dir: string, hostId: string, opts: { durable: boolean; fs?: DurableFs }) {
    this.#file = path.join(dir, `${hostId}.json`);
    this.#hostId = hostId;
    this.#durable = opts.durable;
    this.#fs = opts.fs ?? nodeFs;
  }

  async load(): Promise<AgentState> {
    let raw: string;
    try {
      raw = await readFile(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { hostId: this.#hostId, recent: [] };
      throw err;
    }
    const state = JSON.parse(raw) as AgentState;
    if (state.hostId !== this.#hostId) {
      throw new Error(`${this.#file} belongs to host ${state.hostId}, not ${this.#hostId}`);
    }
    return state;
  }

  async save(state: AgentState): Promise<void> {
    const trimmed: AgentState = {
      ...state,
      recent: state.recent.slice(-RECENT_LIMIT),
      ...(state.runData ? { runData: recentRuns(state.runData) } : {}),
    };
    if (this.#durable) await mkdirDurable(path.dirname(this.#file), this.#fs);
    else await mkdir(path.dirname(this.#file), { recursive: true });
    await writeFileAtomic(this.#file, JSON.stringify(trimmed), { durable: this.#durable, fs: this.#fs });
  }
}
