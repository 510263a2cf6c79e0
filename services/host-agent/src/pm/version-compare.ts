// Version ordering as dpkg and rpm define it, and version-constrained relations
// (Replaces, Obsoletes, Provides) checked against an installed version. Written out
// because neither ordering is simple string or semver order and the classifier must
// tell "Replaces: libfoo1 (<< 2.0)" from one that does not apply to the installed 3.1.

/** dpkg's order of one character of a non-digit run: `~` sorts before everything, even the end. */
function debOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c >= '0' && c <= '9') return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
function debPartCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = debOrder(a[i]);
      const bc = debOrder(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = (a[i] as string).charCodeAt(0) - (b[j] as string).charCodeAt(0);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

function debSplit(v: string): [number, string, string] {
  const colon = v.indexOf(':');
  const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon >= 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ''];
}

/** Debian version order (`dpkg --compare-versions`): negative, zero or positive. */
export function compareDebianVersions(a: string, b: string): number {
  const [ea, ua, ra] = debSplit(a);
  const [eb, ub, rb] = debSplit(b);
  if (ea !== eb) return ea - eb;
  return Math.sign(debPartCompare(ua, ub)) || Math.sign(debPartCompare(ra, rb));
}

const isAlnum = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9]/.test(c);

/** rpm's rpmvercmp on one of version or release (with `~` and `^`). */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const run = numeric ? isDigit : (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);
    const si = i;
    const sj = j;
    while (run(a[i])) i++;
    while (run(b[j])) j++;
    // A numeric segment is newer than an alphabetic one.
    if (j === sj) return numeric ? 1 : -1;
    let x = a.slice(si, i);
    let y = b.slice(sj, j);
    if (numeric) {
      x = x.replace(/^0+/, '');
      y = y.replace(/^0+/, '');
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x < y ? -1 : 1;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

function rpmSplit(v: string): [number, string, string | undefined] {
  const colon = v.indexOf(':');
  const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon >= 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, undefined];
}

/** rpm EVR order; a side without a release (`foo < 2.0`) compares the versions only, as rpm does. */
export function compareRpmVersions(a: string, b: string): number {
  const [ea, va, ra] = rpmSplit(a);
  const [eb, vb, rb] = rpmSplit(b);
  if (ea !== eb) return ea < eb ? -1 : 1;
  const v = rpmvercmp(va, vb);
  if (v !== 0 || ra === undefined || rb === undefined) return v;
  return rpmvercmp(ra, rb);
}

export type VersionCompare = (a: string, b: string) => number;

/** A package relation: a name and, optionally, a version constraint. */
export interface Relation {
  name: string;
  op?: '<' | '<=' | '=' | '>=' | '>';
  version?: string;
}

/** The relation holds for a package `name` at `version` (no constraint: any version). */
export function relationMatches(r: Relation, name: string, version: string, compare: VersionCompare): boolean {
  if (r.name !== name) return false;
  if (!r.op || r.version === undefined) return true;
  const c = compare(version, r.version);
  switch (r.op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>':
      return c > 0;
  }
}
