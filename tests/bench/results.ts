// A benchmark's latest figures as JSON (bench/results/NAME.json), beside the table in
// BENCHMARKS.md: the same numbers a script prints, with the date and the machine they
// were measured on, so that a later run is compared with like.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@yixing/common';
import { repoRoot } from '../../infra/dev/paths.ts';

export const benchResultsDir = path.join(repoRoot, 'bench', 'results');

export interface BenchMachine {
  cores: number;
  memoryGiB: number;
  node: string;
  cpu: string;
  kernel: string;
}

export interface BenchResult<F> {
  name: string;
  date: string;
  machine: BenchMachine;
  figures: F;
}

// The file name is the benchmark's name: nothing that could leave the directory.
const NAME = /^[a-z0-9][a-z0-9-]*$/;

export function thisMachine(): BenchMachine {
  return {
    cores: os.availableParallelism(),
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    kernel: os.release(),
  };
}

/** The record written for one run; the name is checked before anything is measured or written. */
export function benchResult<F>(name: string, figures: F, machine: BenchMachine, date: Date): BenchResult<F> {
  if (!NAME.test(name)) throw new ConfigError(`benchmark name ${JSON.stringify(name)}: use lower-case letters, digits and '-'`);
  return { name, date: date.toISOString(), machine, figures };
}

/**
 * Writes `dir/NAME.json` atomically (a temporary file renamed over it), so a reader or a
 * run cut short never leaves half a file. Returns the file written.
 */
export async function writeBenchResult<F>(name: string, figures: F, opts: { dir?: string; date?: Date } = {}): Promise<string> {
  const record = benchResult(name, figures, thisMachine(), opts.date ?? new Date());
  const dir = opts.dir ?? benchResultsDir;
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const tmp = path.join(dir, `.${name}.${randomUUID()}.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}
