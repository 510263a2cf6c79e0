// A process's memory and CPU as the kernel counts them (/proc/<pid>/status and stat),
// for benchmarks that measure a process they did not write: the parsing is pure, the
// reading is one function at the edge.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ConfigError, DecodeError } from '@yixing/common';

export interface ProcSample {
  /** Resident set now (VmRSS), KiB. */
  rssKiB: number;
  /** The highest resident set since the process started (VmHWM), KiB. */
  hwmKiB: number;
  /** CPU the process itself used (utime + stime), clock ticks. */
  cpuTicks: number;
  /** CPU of its children it has waited for (cutime + cstime), clock ticks. */
  childCpuTicks: number;
}

/** VmRSS and VmHWM (KiB) from the text of /proc/<pid>/status. */
export function parseStatusMemory(text: string): { rssKiB: number; hwmKiB: number } {
  const field = (name: string): number => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm'));
    if (!m) throw new DecodeError(`/proc status has no ${name} line (a kernel thread, or a process that has exited?)`);
    return Number(m[1]);
  };
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/**
 * utime + stime and cutime + cstime (clock ticks) from the text of /proc/<pid>/stat. The
 * command name (field 2) may hold spaces and parentheses, so fields are counted from the
 * last ')': the state is then the first, utime the 12th (field 14 of proc(5)).
 */
export function parseStatCpu(text: string): { cpuTicks: number; childCpuTicks: number } {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new DecodeError('/proc stat: no command name in parentheses');
  const f = text
    .slice(end + 2)
    .trim()
    .split(' ')
    .map(Number);
  const [utime, stime, cutime, cstime] = [f[11], f[12], f[13], f[14]];
  if ([utime, stime, cutime, cstime].some((x) => x === undefined || !Number.isInteger(x)))
    throw new DecodeError('/proc stat: fewer fields than proc(5) documents');
  return { cpuTicks: (utime as number) + (stime as number), childCpuTicks: (cutime as number) + (cstime as number) };
}

/** One sample of a live process; undefined once it has exited (its /proc entry is gone or a zombie's). */
export async function sampleProcess(pid: number): Promise<ProcSample | undefined> {
  try {
    const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
    return { ...parseStatusMemory(status), ...parseStatCpu(stat) };
  } catch {
    return undefined;
  }
}

/** Clock ticks per second (USER_HZ), which /proc/<pid>/stat counts in. */
export function clockTicksPerSecond(): number {
  return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
}

/** CPU seconds per hour of wall time, extrapolated from `ticks` used over `windowSeconds`. */
export function cpuSecondsPerHour(ticks: number, ticksPerSecond: number, windowSeconds: number): number {
  if (!(windowSeconds > 0)) throw new ConfigError(`the measuring window must be longer than 0 s, was ${windowSeconds}`);
  return (ticks / ticksPerSecond / windowSeconds) * 3600;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new ConfigError('the median of no samples: nothing was measured');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
