// An alert's identity: a hash of its labels, the same whatever order they were given in.
// Alertmanager hashes with FNV-64a and 0xff separators; we take sha256 over the JSON of the
// sorted [name, value] pairs, so no name or value (whatever characters it holds) can make
// two different label sets encode alike, and keep 16 hex characters (64 bits, as Alertmanager).
import { createHash } from 'node:crypto';
import type { LabelSet } from '../model/alert.ts';

/** What fingerprint() returns, for the schemas of APIs that take one. */
export const FINGERPRINT_PATTERN = '^[0-9a-f]{16}$';

/** 16 lowercase hex characters identifying `labels`; empty values count like absent labels, as in Alertmanager. */
export function fingerprint(labels: LabelSet): string {
  const pairs = Object.entries(labels)
    .filter(([, value]) => value !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex').slice(0, 16);
}
