// The glibc check reads objdump's text: what it lets through and what it refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { glibcProblems, highestGlibc } from '../../infra/agent/glibc-check.ts';

const sym = (version: string, name: string): string => `0000000000000000      DF *UND*\t0000000000000000 (${version}) ${name}`;
const glibcOnly = '  NEEDED               libc.so.6\n  NEEDED               libpthread.so.0\n  NEEDED               ld-linux-x86-64.so.2\n';

test('symbols up to GLIBC_2.17 from glibc libraries pass', () => {
  const symbols = [sym('GLIBC_2.2.5', 'memcpy'), sym('GLIBC_2.17', 'clock_gettime'), sym('GLIBC_2.14', 'memcpy')].join('\n');
  assert.deepEqual(glibcProblems(symbols, glibcOnly), []);
  assert.equal(highestGlibc(symbols), '2.17');
});

test('a newer or private glibc symbol, another library’s symbol, a non-glibc library are each named', () => {
  const symbols = [
    sym('GLIBC_2.28', 'fcntl64'),
    sym('GLIBC_2.18', '__cxa_thread_atexit_impl'),
    sym('GLIBC_PRIVATE', '_dl_find_object'),
    sym('GLIBCXX_3.4.21', '_ZNSt8ios_base7_M_moveERS_'),
    // A defined symbol of a newer version is the executable's own, not a need.
    '0000000000401000 g    DF .text\t0000000000000010  GLIBC_2.34  own',
  ].join('\n');
  assert.deepEqual(glibcProblems(symbols, `${glibcOnly}  NEEDED               libstdc++.so.6\n`), [
    '1 symbol(s) need GLIBCXX_3.4.21, a library outside glibc (_ZNSt8ios_base7_M_moveERS_)',
    '1 symbol(s) need GLIBC_2.18, newer than glibc 2.17 (__cxa_thread_atexit_impl)',
    '1 symbol(s) need GLIBC_2.28, newer than glibc 2.17 (fcntl64)',
    '1 symbol(s) need GLIBC_PRIVATE, glibc-internal, not the same in another glibc (_dl_find_object)',
    'needs libstdc++.so.6, a library outside glibc',
  ]);
  assert.equal(highestGlibc(symbols), '2.28');
});
