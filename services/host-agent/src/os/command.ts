// Runs a program (never a shell string) and streams its output line by line, so a
// package manager's progress reaches the step log as it happens.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { YxError } from '@yixing/common/base';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  env?: Record<string, string>;
  cwd?: string;
  signal?: AbortSignal;
  /** Each output line as it arrives. */
  onLine?: (line: string, source: 'stdout' | 'stderr') => void;
  /** Keep at most this many characters of each stream in the result. */
  keep?: number;
  input?: string;
}

export class CommandError extends YxError {
  readonly code = 'COMMAND_FAILED';
  readonly retryable = false;
  readonly result: CommandResult;
  readonly argv: string[];

  constructor(argv: string[], result: CommandResult) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
    super(`${argv.join(' ')} exited with ${result.code}${tail ? `: ${tail}` : ''}`);
    this.result = result;
    this.argv = argv;
  }
}

export function runCommand(argv: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const keep = opts.keep ?? 1_000_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', ...opts.env },
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const out = { stdout: '', stderr: '' };
    for (const source of ['stdout', 'stderr'] as const) {
      const stream = child[source];
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (out[source].length < keep) out[source] += `${line}\n`;
        opts.onLine?.(line, source);
      });
    }
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), ...out }));
  });
}

/** Runs and throws CommandError on a non-zero exit. */
export async function mustRun(argv: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const r = await runCommand(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r);
  return r;
}

/** How programs are started: the real runner, or a recording one in unit tests. */
export interface CommandPort {
  run(argv: string[], opts?: CommandOptions): Promise<CommandResult>;
}

export const realCommands: CommandPort = { run: runCommand };

export async function mustRunOn(port: CommandPort, argv: string[]): Promise<CommandResult> {
  const r = await port.run(argv);
  if (r.code !== 0) throw new CommandError(argv, r);
  return r;
}
