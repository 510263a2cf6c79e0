// The target repositories' metadata that the assessment's dnf fetched, kept for the
// upgrade so it downloads none of it again. The upgrade's first dnf command still runs
// with --refresh: dnf fetches each repository's repomd.xml and keeps the metadata it has
// only while repomd.xml is unchanged (libdnf's "in sync" check); where the repository
// published anew since the assessment, dnf downloads the new metadata. So the upgrade
// never works from stale metadata, and the repomd.xml digests, recorded at the assessment
// and read again after the upgrade, say whether the repositories changed in between.
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HostRoot } from '../os/host-root.ts';
import { sinceAssessment } from './apt-lists.ts';

/** The run data key of the metadata the assessment kept (an AssessedDnfCache). */
export const ASSESSED_DNF_CACHE = 'dnf-assessed-cache';

export interface AssessedDnfCache {
  /** The agent's private directory (mkdtemp, 0700, outside the root) that holds it. */
  dir: string;
  /** sha256 of each repository's repomd.xml, by its cache directory (`<repo id>-<hash>`). */
  repomds: Record<string, string>;
}

/** The root's dnf cache directory, relative to the root (the upgrade's cachedir). */
export const ROOT_DNF_CACHE = 'var/cache/dnf';

const KEPT_PREFIX = 'yx-dnf-cache-';
const isKeptDir = (dir: string): boolean => path.dirname(dir) === tmpdir() && path.basename(dir).startsWith(KEPT_PREFIX);
const REPOMD = path.join('repodata', 'repomd.xml');

const sha256 = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/**
 * sha256 of each repository's repomd.xml in a dnf cache directory (of those named in
 * `only`, when given); {} when none (dnf keeps none for a file:// repository).
 */
export async function repomdDigests(cacheDir: string, only?: readonly string[]): Promise<Record<string, string>> {
  const names = only ?? (await readdir(cacheDir).catch(() => [] as string[]));
  const out: Record<string, string> = {};
  for (const name of [...names].sort()) {
    const digest = await sha256(path.join(cacheDir, name, REPOMD)).catch(() => undefined);
    if (digest) out[name] = digest;
  }
  return out;
}

/**
 * The metadata files a repomd.xml lists, with their sha256 (`repodata/x-primary.xml.gz` →
 * digest); those with another checksum type are left out. Pure.
 */
export function repomdFiles(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const data of xml.split(/<data\s/).slice(1)) {
    const sum = /<checksum\s+type="sha256">\s*([0-9a-f]{64})\s*<\/checksum>/.exec(data)?.[1];
    const href = /<location\s+href="([^"]+)"/.exec(data)?.[1];
    if (sum && href && !href.includes('..')) out.set(href, sum);
  }
  return out;
}

/**
 * Moves the scratch caches' contents into a private directory of their own (copied when
 * on another file system) and returns the record the upgrade needs; the previous record
 * of this run, if any, is removed first. Several directories: where libdnf put the
 * repositories' metadata and where dnf put its own files may differ (dnf-root.ts).
 */
export async function keepDnfCache(scratchCaches: readonly string[], previous: AssessedDnfCache | undefined): Promise<AssessedDnfCache> {
  if (previous && isKeptDir(previous.dir)) await rm(previous.dir, { recursive: true, force: true });
  const dir = await mkdtemp(path.join(tmpdir(), KEPT_PREFIX));
  const taken = new Set<string>();
  for (const scratch of scratchCaches) {
    for (const e of await readdir(scratch, { withFileTypes: true }).catch(() => [])) {
      if (taken.has(e.name) || e.name.endsWith('.pid') || e.name.endsWith('.lock')) continue;
      taken.add(e.name);
      const [from, to] = [path.join(scratch, e.name), path.join(dir, e.name)];
      await rename(from, to).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV') throw err;
        await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      });
    }
  }
  return { dir, repomds: await repomdDigests(dir) };
}

/**
 * Copies the kept metadata into the root's dnf cache when it is whole: each repomd.xml is
 * the one recorded and each file it lists that is kept has its digest. Returns whether it
 * did; the kept copy is removed either way. Entries of the cache with these names are replaced.
 */
export async function seedDnfCache(root: HostRoot, kept: AssessedDnfCache, log: (line: string) => void): Promise<boolean> {
  if (!isKeptDir(kept.dir)) {
    log(`${kept.dir} is not a directory the assessment keeps metadata in: fetching it anew`);
    return false;
  }
  try {
    if (sinceAssessment(kept.repomds, await repomdDigests(kept.dir)) !== 'unchanged') {
      log('the metadata the assessment fetched is gone or not as recorded: fetching it anew');
      return false;
    }
    for (const repo of Object.keys(kept.repomds)) {
      for (const [href, digest] of repomdFiles(await readFile(path.join(kept.dir, repo, REPOMD), 'utf8'))) {
        const actual = await sha256(path.join(kept.dir, repo, href)).catch(() => undefined);
        if (actual !== undefined && actual !== digest) {
          log(`the kept ${repo}/${href} does not match its repomd.xml: fetching the metadata anew`);
          return false;
        }
      }
    }
    const into = await root.safePath(ROOT_DNF_CACHE);
    await mkdir(into, { recursive: true });
    for (const e of await readdir(kept.dir)) {
      const to = await root.safePath(path.join(ROOT_DNF_CACHE, e), { follow: false });
      await rm(to, { recursive: true, force: true });
      // Times kept: dnf reads a cache's age from them.
      await cp(path.join(kept.dir, e), to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    }
    log(`reusing the metadata of ${Object.keys(kept.repomds).length} repositories the assessment fetched (copied into ${into})`);
    return true;
  } finally {
    await rm(kept.dir, { recursive: true, force: true });
  }
}
