// Where verified backups live: the backup service on the bus (BusBackupStore), or a local
// directory for standalone runs (FileBackupStore).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { idPatterns, YxError } from '@yixing/common/base';
import { type DurableFs, fsyncFile, mkdirDurable, nodeFs, renameDurable, writeFileAtomic } from '../os/durable-file.ts';

export interface BackupRecord {
  id: string;
  hostId: string;
  runId: string;
  profile: string;
  /** The plan of the run, if any (quotas are per plan). */
  planId?: string;
  /** Paths of the root the archive holds. */
  paths: string[];
  sizeBytes: number;
  sha256: string;
  /** SHA-256 of the package manifest inside the archive. */
  manifestSha256: string;
  createdAt: string;
}

/** A backup fetched for a restore: a local archive, checked; `release` when done with it. */
export interface FetchedBackup {
  record: BackupRecord;
  file: string;
  release(): Promise<void>;
}

export interface BackupStore {
  /** Stores the archive at `file` and verifies the stored copy; returns its record. */
  put(meta: Omit<BackupRecord, 'id' | 'sizeBytes' | 'sha256' | 'createdAt'>, file: string): Promise<BackupRecord>;
  /** Confirms the backup is stored and intact, without fetching it when the store can vouch for it. */
  verify(id: string): Promise<{ sha256: string }>;
  /** The record and a local copy of the archive, checked against its SHA-256 first. */
  get(id: string): Promise<FetchedBackup>;
}

/** A backup id as the backup service makes them; a local store makes the same. */
const BACKUP_ID = new RegExp(idPatterns.backupId);

export class BackupVerificationError extends YxError {
  readonly code = 'BACKUP_UNVERIFIED';
  readonly retryable = false;
}

export async function sha256File(file: string): Promise<string> {
  return sha256Stream(createReadStream(file));
}

async function sha256Stream(stream: AsyncIterable<unknown>): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class FileBackupStore implements BackupStore {
  readonly #dir: string;
  readonly #fs: DurableFs;

  /** @param opts.fs the file system it writes through (tests record the order of calls) */
  constructor(dir: string, opts: { fs?: DurableFs } = {}) {
    this.#dir = dir;
    this.#fs = opts.fs ?? nodeFs;
  }

  async put(meta: Omit<BackupRecord, 'id' | 'sizeBytes' | 'sha256' | 'createdAt'>, file: string): Promise<BackupRecord> {
    await mkdirDurable(this.#dir, this.#fs);
    const sha256 = await sha256File(file);
    const id = `b-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(6).toString('hex')}`;
    const target = path.join(this.#dir, `${id}.tar`);
    // On disk before it is verified and recorded: a backup reported verified must survive a
    // power cut (the page cache would vouch for bytes the disk never got).
    await this.#fs.copyFile(file, `${target}.tmp`);
    await fsyncFile(`${target}.tmp`, this.#fs);
    await renameDurable(`${target}.tmp`, target, this.#fs);
    const record: BackupRecord = { ...meta, id, sizeBytes: (await stat(target)).size, sha256, createdAt: new Date().toISOString() };
    // Verify what was stored, not what was meant to be.
    const stored = await this.#sha256Stored(target);
    if (stored !== sha256) throw new BackupVerificationError(`backup ${id}: stored copy has SHA-256 ${stored}, expected ${sha256}`);
    await writeFileAtomic(path.join(this.#dir, `${id}.json`), JSON.stringify(record, null, 2), { durable: true, fs: this.#fs });
    return record;
  }

  async #sha256Stored(file: string): Promise<string> {
    const fh = await this.#fs.open(file, 'r');
    try {
      return await sha256Stream(fh.createReadStream());
    } finally {
      await fh.close();
    }
  }

  /** A local store vouches by reading the archive through SHA-256 again. */
  async verify(id: string): Promise<{ sha256: string }> {
    return { sha256: (await this.get(id)).record.sha256 };
  }

  async get(id: string): Promise<FetchedBackup> {
    if (!BACKUP_ID.test(id)) throw new BackupVerificationError(`backup id ${JSON.stringify(id)} is malformed`);
    let record: BackupRecord;
    try {
      record = JSON.parse(await readFile(path.join(this.#dir, `${id}.json`), 'utf8')) as BackupRecord;
    } catch {
      throw new BackupVerificationError(`backup ${id} is not in ${this.#dir}`);
    }
    const file = path.join(this.#dir, `${id}.tar`);
    const actual = await sha256File(file).catch(() => 'missing');
    if (actual !== record.sha256)
      throw new BackupVerificationError(`backup ${id}: archive SHA-256 is ${actual}, the record says ${record.sha256}`);
    // The store's own copy: nothing to release.
    return { record, file, release: async () => undefined };
  }
}
