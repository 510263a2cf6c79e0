// The keys the backup service seals and opens with: the current key (from a file or the
// environment) and any retired ones, so that backups sealed before a rotation still
// restore. Every backup records the id of the key it was sealed with.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@yixing/common';
import { parseKey, type SealingKey } from './sealed-stream.ts';

export interface Keys {
  /** The key new backups are sealed with; none: stored as uploaded. */
  sealing: SealingKey | undefined;
  /** Every key the service can open (current and retired). */
  byId: Map<string, SealingKey>;
}

export interface KeySettings {
  /** YX_BACKUP_KEY_FILE */
  keyFile: string;
  /** YX_BACKUP_KEY */
  key: string;
  /** YX_BACKUP_KEY_ID: empty to derive the id from the key. */
  keyId: string;
  /** YX_BACKUP_ENCRYPT: seal new backups when a key is set. */
  encrypt: boolean;
  /** YX_BACKUP_RETIRED_KEY_FILES: `path` or `id=path`, comma separated. */
  retiredKeyFiles: string;
}

type Read = (file: string) => Promise<Buffer>;

async function keyFrom(variable: string, read: Read, file: string, id: string | undefined): Promise<SealingKey> {
  let material: Buffer;
  try {
    material = await read(file);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return parseKey(material, id);
  } catch (err) {
    throw new ConfigError(`${variable}: ${file}: ${(err as Error).message}`);
  }
}

export async function loadKeys(s: KeySettings, read: Read = (f) => readFile(f)): Promise<Keys> {
  if (s.keyFile && s.key) throw new ConfigError('YX_BACKUP_KEY_FILE and YX_BACKUP_KEY are both set; set one');
  let current: SealingKey | undefined;
  if (s.keyFile) current = await keyFrom('YX_BACKUP_KEY_FILE', read, s.keyFile, s.keyId || undefined);
  else if (s.key) {
    try {
      current = parseKey(s.key, s.keyId || undefined);
    } catch (err) {
      throw new ConfigError(`YX_BACKUP_KEY: ${(err as Error).message}`);
    }
  }
  const byId = new Map<string, SealingKey>();
  for (const entry of s.retiredKeyFiles
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]{1,64})=(.+)$/.exec(entry);
    const retired = await keyFrom('YX_BACKUP_RETIRED_KEY_FILES', read, m ? (m[2] as string) : entry, m?.[1]);
    byId.set(retired.id, retired);
  }
  if (current) {
    const clash = byId.get(current.id);
    if (clash && !clash.key.equals(current.key))
      throw new ConfigError(`key id ${current.id} names both the current key and a different retired key`);
    byId.set(current.id, current);
  }
  return { sealing: s.encrypt ? current : undefined, byId };
}
