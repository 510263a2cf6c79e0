// One-click migration of one host without a control plane: `yx-agent migrate`. Runs
// precheck → drain → backup → upgrade → (reboot) → undrain → postcheck, and rollback (then
// undrain again) when a step after the backup fails, with progress on the terminal. Its state is a file, so a run
// killed at any point and started again resumes where it stopped (or rolls back).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StepName } from '@yixing/common';
import type { Driver, StepContext, StepOutcome } from '../drivers/driver.ts';
import { type DurableFs, mkdirDurable, writeFileAtomic } from '../os/durable-file.ts';
import type { Profile } from '../profiles/profile.ts';
import type { RollbackRequirement } from '../snapshot/strategy-choice.ts';
import { RunLog } from './run-log.ts';

/**
 * How a run ended; `restored` is an operator's rollback that succeeded, `rolled-back` a
 * failed migration undone; `rebooting` is no end: the host reboots to finish a rollback.
 */
export type StandaloneEnd = 'migrated' | 'assessed' | 'restored' | 'inhibited' | 'failed' | 'rolled-back' | 'rollback-failed' | 'rebooting';

export interface StepRecordLocal {
  step: StepName;
  /** `after-rollback`: the undrain that follows a rollback (a second record of the step). */
  phase?: 'after-rollback';
  status: 'running' | 'succeeded' | 'failed';
  startedAt: string;
  finishedAt?: string;
  code?: string;
  message?: string;
  report?: unknown;
  resumes: number;
}

export interface StandaloneState {
  runId: string;
  profile: string;
  /**
   * The profile as this run used it (site profiles and mirrors applied), so a rollback or
   * a resumed run needs no `--profiles-dir` or `--mirror` again.
   */
  profileDefinition?: Profile;
  root: string;
  dryRun: boolean;
  /** The rollback strategy the operator required (`--rollback`), kept for a resumed run. */
  rollbackRequired?: RollbackRequirement;
  steps: StepRecordLocal[];
  runData: Record<string, unknown>;
  checkpoint?: unknown;
  end?: StandaloneEnd;
}

export interface StandaloneOptions {
  driver: Driver;
  hostId: string;
  profile: string;
  /** Recorded in the state of a new run (see StandaloneState.profileDefinition). */
  profileDefinition?: Profile;
  root: string;
  /** `--rollback`: the strategy a new run requires; absent, the profile's. */
  rollbackRequired?: RollbackRequirement;
  stateFile: string;
  logFile: string;
  /** Whether the host reboots between upgrade and post-check (not for a chroot root). */
  reboot: (() => Promise<void>) | null;
  out: { write(text: string): unknown; isTTY?: boolean };
  verbose: boolean;
  /** The file system the state is written through (tests record it). */
  fs?: DurableFs;
}

export const EXIT: Record<StandaloneEnd, number> = {
  migrated: 0,
  assessed: 0,
  restored: 0,
  inhibited: 3,
  failed: 4,
  'rolled-back': 4,
  'rollback-failed': 5,
  rebooting: 0,
};

export class StandaloneRun {
  readonly #o: StandaloneOptions;
  #state!: StandaloneState;
  #lastDraw = 0;
  #logFailed = false;
  readonly #log: RunLog;

  constructor(opts: StandaloneOptions) {
    this.#o = opts;
    // The log is for people: a full disk must not end the run (or its rollback).
    this.#log = new RunLog(opts.logFile, (err) => {
      if (this.#logFailed) return;
      this.#logFailed = true;
      this.#print(`warning: the log ${opts.logFile} cannot be written (${err.message}); going on without it\n`);
    });
  }

  get state(): StandaloneState {
    return this.#state;
  }

  async #save(): Promise<void> {
    await mkdirDurable(path.dirname(this.#o.stateFile), this.#o.fs);
    // Durable: after a power cut the run must resume from what it last reported.
    await writeFileAtomic(this.#o.stateFile, JSON.stringify(this.#state, null, 2), { durable: true, fs: this.#o.fs });
  }

  /** The unfinished run for this root, or a new one. */
  async #load(dryRun: boolean): Promise<void> {
    let prev: StandaloneState | undefined;
    try {
      prev = JSON.parse(await readFile(this.#o.stateFile, 'utf8')) as StandaloneState;
    } catch {
      prev = undefined;
    }
    if (prev && !prev.end) {
      if (prev.profile !== this.#o.profile) {
        throw new Error(
          `an unfinished migration with profile ${prev.profile} exists for ${this.#o.root}; finish it (run it again) or roll it back first`,
        );
      }
      this.#state = prev;
      this.#print(`resuming run ${prev.runId} (stopped during ${prev.steps.at(-1)?.step ?? 'start'})\n`);
      return;
    }
    this.#state = {
      runId: `s${randomBytes(8).toString('hex')}`,
      profile: this.#o.profile,
      ...(this.#o.profileDefinition ? { profileDefinition: this.#o.profileDefinition } : {}),
      root: this.#o.root,
      dryRun,
      ...(this.#o.rollbackRequired ? { rollbackRequired: this.#o.rollbackRequired } : {}),
      steps: [],
      runData: {},
    };
    await this.#save();
  }

  #print(text: string): void {
    this.#o.out.write(text);
  }

  #bar(step: StepName, index: number, total: number, percent: number, message: string): void {
    const now = Date.now();
    if (this.#o.out.isTTY) {
      const width = 24;
      const full = Math.round((percent / 100) * width);
      this.#print(
        `\r\x1b[2K[${index}/${total}] ${step.padEnd(9)} [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(percent).padStart(3)}% ${message.slice(0, 60)}`,
      );
    } else if (now - this.#lastDraw > 2000 && message) {
      this.#print(`[${index}/${total}] ${step} ${percent}% ${message}\n`);
      this.#lastDraw = now;
    }
  }

  async #step(step: StepName, index: number, total: number, phase?: 'after-rollback'): Promise<StepOutcome> {
    let rec = this.#state.steps.find((s) => s.step === step && s.phase === phase);
    if (rec?.status === 'succeeded') return { ok: true, report: rec.report };
    const resumed = rec?.status === 'running';
    if (rec) rec.resumes += resumed ? 1 : 0;
    else {
      rec = { step, ...(phase ? { phase } : {}), status: 'running', startedAt: new Date().toISOString(), resumes: 0 };
      this.#state.steps.push(rec);
    }
    rec.status = 'running';
    await this.#save();
    const ctx: StepContext = {
      hostId: this.#o.hostId,
      runId: this.#state.runId,
      step,
      attempt: 1,
      profile: this.#o.profile,
      dryRun: this.#state.dryRun,
      backupId: '',
      planId: '',
      probe: undefined,
      ...(this.#state.rollbackRequired ? { rollbackRequired: this.#state.rollbackRequired } : {}),
      signal: new AbortController().signal,
      resumed,
      lastCheckpoint: this.#state.checkpoint,
      log: (line, source = 'stdout') => {
        this.#log.write(`${new Date().toISOString()} ${step} ${source} ${line}\n`);
        if (this.#o.verbose) this.#print(`${this.#o.out.isTTY ? '\r\x1b[2K' : ''}  ${line}\n`);
      },
      progress: (percent, message) => this.#bar(step, index, total, Math.round(percent), message ?? ''),
      checkpoint: async (data) => {
        this.#state.checkpoint = data;
        await this.#save();
      },
      runData: {
        get: <T>(key: string) => this.#state.runData[key] as T | undefined,
        set: async (key, value) => {
          this.#state.runData[key] = value;
          await this.#save();
        },
      },
    };
    this.#bar(step, index, total, 0, resumed ? 'resuming' : 'starting');
    let outcome: StepOutcome;
    try {
      outcome = await this.#o.driver.run(ctx);
    } catch (err) {
      const e = err as Error & { code?: string };
      outcome = { ok: false, code: typeof e.code === 'string' ? e.code : 'STEP_ERROR', message: e.message, retryable: false, kind: 1 };
    }
    rec.status = outcome.ok ? 'succeeded' : 'failed';
    rec.finishedAt = new Date().toISOString();
    rec.report = outcome.report;
    if (!outcome.ok) {
      rec.code = outcome.code;
      rec.message = outcome.message;
    }
    this.#state.checkpoint = undefined;
    await this.#save();
    this.#bar(step, index, total, 100, outcome.ok ? 'done' : 'FAILED');
    this.#print(this.#o.out.isTTY ? '\n' : `[${index}/${total}] ${step} ${outcome.ok ? 'done' : `FAILED: ${outcome.message}`}\n`);
    if (!outcome.ok && this.#o.out.isTTY) this.#print(`  ${outcome.code}: ${outcome.message}\n`);
    return outcome;
  }

  async #end(end: StandaloneEnd, text: string): Promise<StandaloneEnd> {
    this.#state.end = end;
    await this.#save();
    await this.#log.flushed();
    this.#print(`${text}\n  state ${this.#o.stateFile}\n  log   ${this.#o.logFile}\n`);
    return end;
  }

  /** Runs (or resumes) the migration to its end. */
  async migrate(opts: { dryRun: boolean; assessOnly: boolean }): Promise<StandaloneEnd> {
    await this.#load(opts.dryRun || opts.assessOnly);
    const forward: StepName[] = this.#state.dryRun
      ? ['precheck']
      : ['precheck', 'drain', 'backup', 'upgrade', ...(this.#o.reboot ? (['reboot'] as const) : []), 'undrain', 'postcheck'];
    const total = forward.length;
    // A rollback that was under way when the run stopped is finished first.
    if (this.#state.steps.some((s) => s.step === 'rollback')) return this.#rollback(total);
    for (const [i, step] of forward.entries()) {
      if (step === 'reboot') {
        const rec = this.#state.steps.find((s) => s.step === 'reboot');
        if (!rec) {
          this.#state.steps.push({ step, status: 'running', startedAt: new Date().toISOString(), resumes: 0 });
          await this.#save();
          this.#print(`[${i + 1}/${total}] reboot: rebooting; run yx-agent migrate again after boot to finish\n`);
          await this.#log.flushed();
          await (this.#o.reboot as () => Promise<void>)();
          return 'migrated';
        }
        rec.status = 'succeeded';
        rec.finishedAt = new Date().toISOString();
        await this.#save();
        continue;
      }
      const outcome = await this.#step(step, i + 1, total);
      if (outcome.ok) continue;
      if (step === 'precheck') {
        return this.#end(outcome.code === 'PRECHECK_INHIBITED' ? 'inhibited' : 'failed', `not migrated: ${outcome.message}`);
      }
      if (step === 'drain' || step === 'backup') {
        // The system is as it was; what the drain took away comes back.
        const back = await this.#step('undrain', i + 1, total, 'after-rollback');
        return this.#end(
          'failed',
          `not migrated, the system is unchanged: ${outcome.message}${back.ok ? '' : `; and the workloads did not all come back: ${back.message}`}`,
        );
      }
      return this.#rollback(total);
    }
    if (this.#state.dryRun) return this.#end('assessed', 'assessment done; nothing was changed');
    const os = (
      this.#state.steps.find((s) => s.step === 'postcheck')?.report as { osRelease?: { id: string; versionId: string } } | undefined
    )?.osRelease;
    return this.#end('migrated', `migrated${os ? ` to ${os.id} ${os.versionId}` : ''}`);
  }

  async #rollback(total: number, requested = false): Promise<StandaloneEnd> {
    // An operator's rollback of a migrated host takes the workloads away first, as the migration did.
    const steps = requested ? 3 : 2;
    if (requested) {
      const drained = await this.#step('drain', total + 1, total + steps);
      if (!drained.ok) {
        const back = await this.#step('undrain', total + 1, total + steps, 'after-rollback');
        return this.#end('failed', `not rolled back, the system is unchanged: ${drained.message}${back.ok ? '' : `; ${back.message}`}`);
      }
    }
    this.#print('rolling back to the state of the backup\n');
    const outcome = await this.#step('rollback', total + steps - 1, total + steps);
    if (!outcome.ok && outcome.code === 'ROLLBACK_REBOOT_PENDING' && this.#o.reboot) {
      // A live root's snapshot is reverted by booting it; the run is not over until verified.
      this.#print('rebooting into the reverted root; run yx-agent rollback again after boot to verify it\n');
      await this.#log.flushed();
      await this.#o.reboot();
      return 'rebooting';
    }
    if (!outcome.ok) return this.#end('rollback-failed', `CRITICAL: ${outcome.message}; the host needs a human`);
    // Drained workloads come back on the restored system (the record is in this state, not the root).
    const back = await this.#step('undrain', total + steps, total + steps, 'after-rollback');
    if (!back.ok) return this.#end('failed', `rolled back and verified, but the workloads did not all come back: ${back.message}`);
    return this.#end(requested ? 'restored' : 'rolled-back', 'rolled back and verified: release, packages and configuration as before');
  }

  /** Rolls the last run of this root back (after a migration that succeeded, too). */
  async rollback(): Promise<StandaloneEnd> {
    let prev: StandaloneState;
    try {
      prev = JSON.parse(await readFile(this.#o.stateFile, 'utf8')) as StandaloneState;
    } catch {
      throw new Error(`no migration of ${this.#o.root} is recorded in ${this.#o.stateFile}`);
    }
    // The drain record in the run's data stays: the same set runs again and is taken away again.
    // A rollback that was interrupted is resumed instead, from its checkpoint (the state's
    // one checkpoint: a drain run again before it would end and clear it).
    const interrupted = prev.steps.some((s) => s.step === 'rollback' && s.status === 'running');
    const redone = new Set<StepName>(interrupted ? ['undrain'] : ['rollback', 'drain', 'undrain']);
    this.#state = { ...prev, end: undefined, steps: prev.steps.filter((s) => !redone.has(s.step)) } as StandaloneState;
    await this.#save();
    return this.#rollback(0, true);
  }
}
