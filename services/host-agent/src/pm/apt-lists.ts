// The target release's package lists that the assessment fetched, kept for the upgrade so
// it downloads none of them again. The upgrade still runs `apt-get update` on the root: apt
// fetches the Release files and keeps an index it already has only where the Release still
// lists that index's digest; where the repository published anew since the assessment,
// apt downloads the new indexes. So the upgrade never works from stale lists, and the
// Release files' digests, recorded at the assessment and read again after the update,
// say whether the repositories changed in between.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HostRoot } from '../os/host-root.ts';

/** The run data key of the lists the assessment kept (an AssessedLists). */
export const ASSESSED_LISTS = 'apt-assessed-lists';

export interface AssessedLists {
  /** The agent's private directory (mkdtemp, 0700, outside the root) that holds them. */
  dir: string;
  /** sha256 of each Release and InRelease file, by list file name. */
  releases: Record<string, string>;
}

/**
 * What the upgrade's lists were, for its report: `reused` the assessment's lists were put
 * in place and apt fetched only the Release files; `sinceAssessment` whether those Release
 * files are still the ones the assessment read (`unknown`: no assessment in this run).
 */
export interface ListsReport {
  reused: boolean;
  sinceAssessment: 'unchanged' | 'changed' | 'unknown';
}

/** The root's own list directory, relative to the root. */
export const ROOT_LISTS = 'var/lib/apt/lists';

export const isReleaseFile = (name: string): boolean => /_(In)?Release$/.test(name);

/** Whether the Release files now are the ones the assessment read. Pure. */
export function sinceAssessment(assessed: Record<string, string> | undefined, now: Record<string, string>): ListsReport['sinceAssessment'] {
  if (!assessed || Object.keys(assessed).length === 0) return 'unknown';
  const names = new Set([...Object.keys(assessed), ...Object.keys(now)]);
  for (const n of names) if (assessed[n] !== now[n]) return 'changed';
  return 'unchanged';
}

/**
 * The SHA256 section of a Release file: each index it lists, as the list file name apt
 * stores it under (`<release file's prefix>_<path, / as _>`), with its digest. Pure.
 */
export function releaseIndexDigests(releaseFileName: string, text: string): Map<string, string> {
  const prefix = releaseFileName.replace(/_(In)?Release$/, '');
  const out = new Map<string, string>();
  let inSha256 = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      inSha256 = /^SHA256:/.test(line);
      continue;
    }
    const m = inSha256 ? /^\s+([0-9a-f]{64})\s+\d+\s+(\S+)\s*$/.exec(line) : null;
    if (m) out.set(`${prefix}_${(m[2] as string).replace(/\//g, '_')}`, m[1] as string);
  }
  return out;
}

const KEPT_PREFIX = 'yx-apt-lists-';

/** Only a directory keepLists made is read or removed, whatever the run data says. */
const isKeptDir = (dir: string): boolean => path.dirname(dir) === tmpdir() && path.basename(dir).startsWith(KEPT_PREFIX);

const sha256 = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** sha256 of each Release and InRelease file in a list directory; {} when it has none (or is missing). */
export async function releaseDigests(dir: string): Promise<Record<string, string>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Record<string, string> = {};
  for (const n of names.filter(isReleaseFile).sort()) out[n] = await sha256(path.join(dir, n));
  return out;
}

/**
 * Moves a scratch list directory's files into a private directory of their own and
 * returns the record the upgrade needs; the assessment's previous record, if any, is
 * removed first (one kept copy per run).
 */
export async function keepLists(scratchLists: string, previous: AssessedLists | undefined): Promise<AssessedLists> {
  if (previous && isKeptDir(previous.dir)) await rm(previous.dir, { recursive: true, force: true });
  const dir = await mkdtemp(path.join(tmpdir(), KEPT_PREFIX));
  for (const e of await readdir(scratchLists, { withFileTypes: true })) {
    if (e.isFile() && e.name !== 'lock') await rename(path.join(scratchLists, e.name), path.join(dir, e.name));
  }
  return { dir, releases: await releaseDigests(dir) };
}

/**
 * Copies the kept lists into the root's list directory when they are whole: their Release
 * files are the ones recorded and every index a Release lists that is kept has that
 * Release's digest. Returns whether it did; the kept copy is removed either way (an upgrade
 * resumed later fetches as apt would). Files of the root's that have these names are replaced.
 */
export async function seedLists(root: HostRoot, kept: AssessedLists, log: (line: string) => void): Promise<boolean> {
  if (!isKeptDir(kept.dir)) {
    log(`${kept.dir} is not a directory the assessment keeps lists in: fetching them anew`);
    return false;
  }
  try {
    if (sinceAssessment(kept.releases, await releaseDigests(kept.dir)) !== 'unchanged') {
      log('the lists the assessment fetched are gone or not as recorded: fetching them anew');
      return false;
    }
    const files = (await readdir(kept.dir)).sort();
    const expected = new Map<string, string>();
    for (const r of files.filter(isReleaseFile)) {
      for (const [name, digest] of releaseIndexDigests(r, await readFile(path.join(kept.dir, r), 'utf8'))) expected.set(name, digest);
    }
    const indexes = files.filter((f) => !isReleaseFile(f));
    for (const f of indexes) {
      if (expected.get(f) !== (await sha256(path.join(kept.dir, f)))) {
        log(`the kept list ${f} does not match its Release: fetching the lists anew`);
        return false;
      }
    }
    const into = await root.safePath(ROOT_LISTS);
    for (const f of files) {
      const to = await root.safePath(path.join(ROOT_LISTS, f), { follow: false });
      await rm(to, { force: true });
      await copyFile(path.join(kept.dir, f), to, constants.COPYFILE_EXCL);
      // apt asks the mirror whether a Release changed since the file's time.
      const { atime, mtime } = await stat(path.join(kept.dir, f));
      await utimes(to, atime, mtime);
    }
    log(`reusing the ${files.length} list files the assessment fetched (copied into ${into})`);
    return true;
  } finally {
    await rm(kept.dir, { recursive: true, force: true });
  }
}
