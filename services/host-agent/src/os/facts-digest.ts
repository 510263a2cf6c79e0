// A digest of what the assessment reads on a root: its release, its package set, its
// repository and version-lock configuration, and the roles detected on it. A host whose
// digest equals its last assessment's need not be assessed again. Cheap enough to
// recompute every few minutes: small files are hashed, the rpm database (tens of MiB) is
// taken by size and modification time (rpm rewrites it on every transaction).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { type HostSize, hostSize } from './host-size.ts';

/** Hashed by content: os-release, the dpkg status (holds included), repository and lock files. */
const CONTENT_FILES = [
  'etc/os-release',
  'usr/lib/os-release',
  'var/lib/dpkg/status',
  'etc/apt/sources.list',
  'etc/apt/preferences',
  'etc/dnf/dnf.conf',
  'etc/yum.conf',
  'etc/dnf/plugins/versionlock.list',
  'etc/yum/pluginconf.d/versionlock.list',
];

/** Every file in these directories, hashed by content. */
const CONTENT_DIRS = ['etc/apt/sources.list.d', 'etc/apt/preferences.d', 'etc/yum.repos.d'];

/** Taken by size and modification time: the rpm database in its old and new places and formats. */
const STAT_FILES = ['var/lib/rpm', 'usr/lib/sysimage/rpm'].flatMap((dir) =>
  ['rpmdb.sqlite', 'Packages', 'Packages.db'].map((f) => `${dir}/${f}`),
);

const absent = (err: NodeJS.ErrnoException): undefined => {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
};

async function contentHash(file: string): Promise<string | undefined> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return 'directory';
    return absent(err as NodeJS.ErrnoException);
  }
  return h.digest('hex');
}

/** One line per input, in a fixed order; what the digest is taken over. */
export async function factsDigestLines(rootPath: string, roles: readonly string[]): Promise<string[]> {
  const at = (p: string): string => path.join(rootPath, p);
  const lines: string[] = [];
  for (const f of CONTENT_FILES) lines.push(`${f} ${(await contentHash(at(f))) ?? 'absent'}`);
  for (const dir of CONTENT_DIRS) {
    const names = ((await readdir(at(dir)).catch(absent)) ?? []).sort();
    if (names.length === 0) lines.push(`${dir}/ empty`);
    for (const name of names) lines.push(`${dir}/${name} ${(await contentHash(at(`${dir}/${name}`))) ?? 'unreadable'}`);
  }
  for (const f of STAT_FILES) {
    const st = await stat(at(f)).catch(absent);
    lines.push(`${f} ${st ? `${st.size} ${st.mtimeMs}` : 'absent'}`);
  }
  lines.push(`roles ${[...new Set(roles)].sort().join(',')}`);
  return lines;
}

/** SHA-256 (hex) over factsDigestLines: HostFacts.facts_digest. */
export async function factsDigest(rootPath: string, roles: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const line of await factsDigestLines(rootPath, roles)) h.update(`${line}\n`);
  return h.digest('hex');
}

/**
 * AgentDeps.facts of a real host: the roles detected now (sorted, once each), the digest
 * over them, and the host's size (os/host-size.ts). Host mode:
 * `facts: hostFactsReader(root.path, () => detectRoles(root, realCommands))`.
 */
export function hostFactsReader(
  rootPath: string,
  detectRoles: () => Promise<readonly string[]>,
): () => Promise<{ roles: string[]; factsDigest: string } & HostSize> {
  return async () => {
    const roles = [...new Set(await detectRoles())].sort();
    return { roles, factsDigest: await factsDigest(rootPath, roles), ...(await hostSize(rootPath)) };
  };
}
