// What an executable needs from the machine it runs on, read from `objdump -T` (versioned
// dynamic symbols) and `objdump -p` (DT_NEEDED): the agent must start on EL7 and BC-Linux 7,
// whose C library is glibc 2.17, and may need nothing but glibc there.

/** The oldest glibc the agent supports: CentOS 7 and BC-Linux 7. */
export const OLDEST_GLIBC = '2.17';

/** glibc's own shared objects, the only libraries the executable may need. */
export const GLIBC_LIBRARIES = new Set([
  'libc.so.6',
  'libm.so.6',
  'libpthread.so.0',
  'libdl.so.2',
  'librt.so.1',
  'libutil.so.1',
  'libresolv.so.2',
  'libanl.so.1',
  'ld-linux-x86-64.so.2',
  'ld-linux-aarch64.so.1',
]);

/** Is version a (x.y.z) newer than b? */
export const newer = (a: string, b: string): boolean => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return false;
};

/**
 * Everything that keeps an executable from starting on glibc 2.17: an undefined symbol of a
 * newer (or private) glibc version, a symbol versioned by another library, a DT_NEEDED
 * library outside glibc. Empty when it starts there. Pure: takes objdump's text.
 */
export function glibcProblems(dynamicSymbols: string, privateHeaders: string): string[] {
  // One line per symbol version, not per symbol: a C++ runtime brings hundreds.
  const byVersion = new Map<string, { why: string; symbols: string[] }>();
  for (const line of dynamicSymbols.split('\n')) {
    if (!line.includes('*UND*')) continue;
    const symbol = line.trim().split(/\s+/).at(-1) ?? '';
    for (const m of line.matchAll(/\b([A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)*)_(PRIVATE|[0-9][0-9.]*)\b/g)) {
      const [, tag, version] = m as unknown as [string, string, string];
      let why: string | undefined;
      if (tag !== 'GLIBC') why = 'a library outside glibc';
      else if (version === 'PRIVATE') why = 'glibc-internal, not the same in another glibc';
      else if (newer(version, OLDEST_GLIBC)) why = `newer than glibc ${OLDEST_GLIBC}`;
      if (!why) continue;
      const key = `${tag}_${version}`;
      const entry = byVersion.get(key) ?? { why, symbols: [] };
      entry.symbols.push(symbol);
      byVersion.set(key, entry);
    }
  }
  const problems = [...byVersion].map(
    ([key, e]) =>
      `${e.symbols.length} symbol(s) need ${key}, ${e.why} (${e.symbols.slice(0, 3).join(', ')}${e.symbols.length > 3 ? ', …' : ''})`,
  );
  for (const m of privateHeaders.matchAll(/^\s*NEEDED\s+(\S+)/gm)) {
    const lib = m[1] as string;
    if (!GLIBC_LIBRARIES.has(lib)) problems.push(`needs ${lib}, a library outside glibc`);
  }
  return problems.sort();
}

/** The highest GLIBC_x.y any undefined symbol needs, for the report. */
export function highestGlibc(dynamicSymbols: string): string | undefined {
  let best: string | undefined;
  for (const m of dynamicSymbols.matchAll(/\*UND\*.*\bGLIBC_([0-9][0-9.]*)\b/g)) {
    const v = m[1] as string;
    if (best === undefined || newer(v, best)) best = v;
  }
  return best;
}
