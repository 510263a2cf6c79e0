// The host's size as the scheduler predicts a migration's duration from it (HostFacts
// package_count, installed_bytes, disk_used_bytes): the packages installed and the bytes
// they occupy, read from the dpkg status file, and the bytes in use on the root's
// filesystem. Reads only; what cannot be read is 0 (an rpm host's packages: its database
// is not a text file, and running rpm every few minutes for a scheduling hint is not worth it).
import { readFile, statfs } from 'node:fs/promises';
import path from 'node:path';

export interface HostSize {
  packageCount: number;
  installedBytes: number;
  diskUsedBytes: number;
}

/** Installed packages and their Installed-Size (KiB) from a dpkg status file. Pure. */
export function dpkgSize(status: string): Pick<HostSize, 'packageCount' | 'installedBytes'> {
  let packageCount = 0;
  let installedBytes = 0;
  for (const stanza of status.split(/\n\s*\n/)) {
    if (!/^Status:\s*install ok installed\s*$/m.test(stanza)) continue;
    packageCount++;
    const kib = /^Installed-Size:\s*(\d+)\s*$/m.exec(stanza)?.[1];
    if (kib) installedBytes += Number(kib) * 1024;
  }
  return { packageCount, installedBytes };
}

/** The size of the host at `rootPath` (0 for what cannot be read). */
export async function hostSize(rootPath: string): Promise<HostSize> {
  const status = await readFile(path.join(rootPath, 'var/lib/dpkg/status'), 'utf8').catch(() => '');
  const fs = await statfs(rootPath).catch(() => null);
  return {
    ...dpkgSize(status),
    diskUsedBytes: fs ? Math.max(0, (fs.blocks - fs.bfree) * fs.bsize) : 0,
  };
}
