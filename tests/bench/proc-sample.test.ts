import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DecodeError } from '@yixing/common';
import { cpuSecondsPerHour, median, parseStatCpu, parseStatusMemory, sampleProcess } from './proc-sample.ts';

const STATUS = ['Name:\tyx-agent', 'VmPeak:\t  900000 kB', 'VmHWM:\t   81234 kB', 'VmRSS:\t   70000 kB', 'Threads:\t7', ''].join('\n');

test('the resident set and its high-water mark are read from status, not VmPeak', () => {
  assert.deepEqual(parseStatusMemory(STATUS), { rssKiB: 70000, hwmKiB: 81234 });
});

test('a status without memory lines (an exited process) is an error naming the line', () => {
  assert.throws(
    () => parseStatusMemory('Name:\tzombie\nState:\tZ (zombie)\n'),
    (e: unknown) => e instanceof DecodeError && /VmRSS/.test(e.message),
  );
});

test('CPU is counted from the last parenthesis, whatever the command name holds', () => {
  // Fields 14-17 of proc(5): utime 150, stime 25, cutime 7, cstime 3.
  const stat = '4242 (yx agent) (x) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 7 3 20 0 7 0 1641697 3133440 390';
  assert.deepEqual(parseStatCpu(stat), { cpuTicks: 175, childCpuTicks: 10 });
  assert.throws(() => parseStatCpu('4242 (x) S 1 2 3'), DecodeError);
});

test('this process samples as alive, with CPU and memory', async () => {
  const s = await sampleProcess(process.pid);
  assert.ok(s && s.rssKiB > 0 && s.hwmKiB >= s.rssKiB && s.cpuTicks > 0);
  assert.equal(await sampleProcess(2 ** 22 + 1), undefined, 'a pid above pid_max is no process');
});

test('CPU per hour is extrapolated from the window', () => {
  assert.equal(cpuSecondsPerHour(90, 100, 90), 36, '0.9 s of CPU in 90 s is 36 s an hour');
  assert.throws(() => cpuSecondsPerHour(1, 100, 0), ConfigError);
});

test('the median of an even count is the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), ConfigError);
});
