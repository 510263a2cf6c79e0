// Backups through the backup service: ask for an upload slot, stream the archive into the
// Object Store, commit, and wait for the service to verify it; restore by asking for a
// grant and checking the copy it names before handing it out. Every request is retried
// while the service is away (restarting), and an upload the service refused is redone.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import {
  BACKUP_MANIFEST_MEMBER,
  BackupState,
  type Bus,
  CorruptObjectError,
  type InitOf,
  ObjectMissingError,
  type ReplyOf,
  type RouteName,
  readObject,
  readTarMember,
  UnavailableError,
} from '@yixing/common';
import { type BackupRecord, type BackupStore, BackupVerificationError, type FetchedBackup, sha256File } from './backup-store.ts';

export interface BusBackupStoreOptions {
  bus: Bus;
  hostId: string;
  planId?: string;
  /** How long to keep retrying a request while the service does not answer. */
  patienceMs?: number;
  /** How long one commit may take (the service reads the whole archive). */
  commitTimeoutMs?: number;
  uploadAttempts?: number;
  log?: (line: string) => void;
}

/** SHA-256 of the archive's manifest, as the service will compute it ('' when absent). */
async function manifestSha(file: string): Promise<string> {
  const bytes = await readTarMember(file, BACKUP_MANIFEST_MEMBER);
  return bytes?.length ? createHash('sha256').update(bytes).digest('hex') : '';
}

export class BusBackupStore implements BackupStore {
  readonly #o: Required<Omit<BusBackupStoreOptions, 'planId' | 'log'>> & Pick<BusBackupStoreOptions, 'planId' | 'log'>;

  constructor(opts: BusBackupStoreOptions) {
    this.#o = { patienceMs: 600_000, commitTimeoutMs: 300_000, uploadAttempts: 3, ...opts };
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }

  /**
   * A request, retried with backoff while no backup service answers, or while `again`
   * finds a reason in the reply to ask again (the service could not finish just now).
   */
  async #ask<N extends RouteName>(
    name: N,
    init: InitOf<N>,
    timeoutMs: number,
    again: (reply: ReplyOf<N>) => string | undefined = () => undefined,
  ): Promise<ReplyOf<N>> {
    const until = Date.now() + this.#o.patienceMs;
    for (let attempt = 0; ; attempt++) {
      let why: string | undefined;
      try {
        const reply = await this.#o.bus.request(name, init, timeoutMs);
        why = again(reply);
        if (why === undefined || Date.now() > until) return reply;
      } catch (err) {
        if (!(err instanceof UnavailableError) || Date.now() > until) throw err;
        why = `backup service did not answer (${(err as Error).message})`;
      }
      this.#log(`${why}; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
    }
  }

  async put(meta: Omit<BackupRecord, 'id' | 'sizeBytes' | 'sha256' | 'createdAt'>, file: string): Promise<BackupRecord> {
    const [sha256, manifestSha256, { size }] = await Promise.all([sha256File(file), manifestSha(file), stat(file)]);
    let lastReason = '';
    for (let attempt = 1; attempt <= this.#o.uploadAttempts; attempt++) {
      const slot = await this.#ask(
        'backupSlotRequest',
        {
          hostId: this.#o.hostId,
          runId: meta.runId,
          planId: meta.planId || this.#o.planId || '',
          paths: meta.paths,
          sizeBytes: size,
          sha256,
          manifestSha256,
        },
        30_000,
        (sl) => (!sl.accepted && sl.retryable ? `no upload slot yet (${sl.reason})` : undefined),
      );
      if (!slot.accepted) throw new BackupVerificationError(`the backup service refused the upload: ${slot.reason}`);
      try {
        // A generous ack timeout: many hosts back up at once at the start of a wave.
        const os = await new Objm(jetstream(this.#o.bus.nc, { timeout: 60_000 })).open(slot.bucket);
        await os.put(
          { name: slot.objectName, options: { max_chunk_size: 256 * 1024 } },
          Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
        );
      } catch (err) {
        lastReason = `upload failed: ${(err as Error).message}`;
        this.#log(`${lastReason}; uploading again (attempt ${attempt + 1})`);
        continue;
      }
      this.#log(`uploaded ${size} bytes as ${slot.backupId}; waiting for verification`);
      const status = await this.#ask('backupCommit', { hostId: this.#o.hostId, backupId: slot.backupId }, this.#o.commitTimeoutMs, (st) =>
        st.state === BackupState.UPLOADING ? `backup ${slot.backupId} not verified yet (${st.reason})` : undefined,
      );
      if (status.state === BackupState.VERIFIED) {
        return { ...meta, id: slot.backupId, sizeBytes: size, sha256, manifestSha256, createdAt: new Date().toISOString() };
      }
      lastReason = status.reason;
      this.#log(`backup ${slot.backupId} not verified (${status.reason}); uploading again (attempt ${attempt + 1})`);
    }
    throw new BackupVerificationError(`the backup could not be verified after ${this.#o.uploadAttempts} uploads: ${lastReason}`);
  }

  /** The service vouches: a catalogued, verified backup (it re-reads on restore anyway). */
  async verify(id: string): Promise<{ sha256: string }> {
    const status = await this.#ask('backupStatusRequest', { hostId: this.#o.hostId, backupId: id }, 30_000, (st) =>
      st.state === BackupState.UNSPECIFIED ? `status of ${id} not known yet (${st.reason})` : undefined,
    );
    if (status.state !== BackupState.VERIFIED)
      throw new BackupVerificationError(
        `backup ${id} is ${BackupState[status.state]?.toLowerCase() ?? status.state} at the backup service${status.reason ? `: ${status.reason}` : ''}`,
      );
    return { sha256: status.sha256 };
  }

  async get(id: string): Promise<FetchedBackup> {
    const grant = await this.#ask('restoreRequest', { hostId: this.#o.hostId, backupId: id }, this.#o.commitTimeoutMs, (g) =>
      !g.granted && g.retryable ? `restore of ${id} not granted yet (${g.reason})` : undefined,
    );
    if (!grant.granted) throw new BackupVerificationError(`restore of ${id} refused: ${grant.reason}`);
    const dir = await mkdtemp(path.join(tmpdir(), 'yx-restore-'));
    const file = path.join(dir, `${id}.tar`);
    try {
      const js = jetstream(this.#o.bus.nc, { timeout: 60_000 });
      const os = await new Objm(js).open(grant.bucket);
      try {
        await pipeline(readObject(js, os, grant.bucket, grant.objectName), createWriteStream(file));
      } catch (err) {
        if (err instanceof ObjectMissingError || err instanceof CorruptObjectError)
          throw new BackupVerificationError(`restore copy of ${id}: ${err.message}`);
        throw err;
      }
      // Checked here too, before anything on the host is written from it.
      const sha = await sha256File(file);
      if (sha !== grant.sha256)
        throw new BackupVerificationError(`restore copy of ${id} has SHA-256 ${sha}, the service granted ${grant.sha256}`);
      return {
        record: {
          id,
          hostId: this.#o.hostId,
          runId: '',
          profile: '',
          paths: [],
          sizeBytes: grant.sizeBytes,
          sha256: sha,
          manifestSha256: '',
          createdAt: '',
        },
        file,
        release: () => rm(dir, { recursive: true, force: true }),
      };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
}
