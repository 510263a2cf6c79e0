// /etc/os-release (or /usr/lib/os-release) of a root, parsed.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface OsRelease {
  id: string;
  versionId: string;
  prettyName: string;
  fields: Record<string, string>;
}

export function parseOsRelease(text: string): OsRelease {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    fields[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return { id: fields.ID ?? '', versionId: fields.VERSION_ID ?? '', prettyName: fields.PRETTY_NAME ?? '', fields };
}

export async function readOsRelease(root: string): Promise<OsRelease> {
  for (const p of ['etc/os-release', 'usr/lib/os-release']) {
    try {
      return parseOsRelease(await readFile(path.join(root, p), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`no os-release in ${root}`);
}
