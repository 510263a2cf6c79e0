// Backups through the backup service, never the store itself: ask for an upload slot,
// publish the archive's pieces on this host's own upload subject, commit, and wait for the
// service to verify it; restore by asking for a grant, reading the granted copy piece by
// piece from the service, and checking it before handing it out. Every request is retried
// while the service is away (restarting), and an upload the service refused is redone.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  BACKUP_MANIFEST_MEMBER,
  BackupState,
  type Bus,
  type InitOf,
  limits,
  type ReplyOf,
  type RouteName,
  readTarMember,
  UnavailableError,
  UPLOAD_CHUNK_BYTES,
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

/** A restore piece: what one reply carries (the service hands out pieces at multiples of it). */
const RESTORE_PIECE_BYTES = limits.restoreChunk.data;
/** Restore pieces asked for at once. */
const RESTORE_PIECES_IN_FLIGHT = 8;

/** Pieces awaiting the stream's acknowledgement at once: every write is fsynced, so one at a time would wait on each. */
const PIECES_IN_FLIGHT = 16;

/**
 * The archive as BackupChunk pieces on the host's upload subject, a few awaiting their
 * acknowledgement at once (a retried one may land after later ones; the service puts them
 * back in order). A piece sent again keeps its message id, and the stream drops the copy.
 * Returns how many pieces were published.
 */
export async function publishArchivePieces(bus: Bus, hostId: string, backupId: string, file: string): Promise<number> {
  const inFlight: Promise<unknown>[] = [];
  let index = 0;
  try {
    for await (const data of createReadStream(file, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
      // A generous deadline: many hosts back up at once at the start of a wave.
      const acked = bus.publishDurable('backupChunk', { hostId, backupId, index, data: data as Buffer }, `${backupId}.${index}`, {
        deadlineMs: 120_000,
        attemptTimeoutMs: 30_000,
      });
      acked.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      inFlight.push(acked);
      index++;
      if (inFlight.length >= PIECES_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
  }
  return index;
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
    // The manifest's digest as the archive's maker computed it saves reading the archive again.
    const [sha256, manifestSha256, { size }] = await Promise.all([sha256File(file), meta.manifestSha256 || manifestSha(file), stat(file)]);
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
        await publishArchivePieces(this.#o.bus, this.#o.hostId, slot.backupId, file);
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
      // Checked here too, before anything on the host is written from it.
      const sha = await this.#readPieces(id, grant.objectName, grant.sizeBytes, file);
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

  /**
   * The granted backup, piece by piece from the service, into `file`, hashed as it is
   * written; returns its SHA-256. Pieces are at fixed offsets, so several are asked for at
   * once (a round trip per piece would bound a restore by latency, not bandwidth).
   */
  async #readPieces(id: string, objectName: string, sizeBytes: number, file: string): Promise<string> {
    const ask = (offset: number) =>
      this.#ask(
        'restoreChunkRequest',
        { hostId: this.#o.hostId, backupId: id, objectName, cursor: offset ? String(offset) : '' },
        60_000,
        (p) => (p.reason && p.retryable ? `piece of ${id} at byte ${offset} not read yet (${p.reason})` : undefined),
      );
    const sha = createHash('sha256');
    async function* pieces(): AsyncIterable<Uint8Array> {
      const asked: { offset: number; reply: Promise<ReplyOf<'restoreChunkRequest'>> }[] = [];
      let next = 0;
      try {
        for (let offset = 0; offset < sizeBytes; ) {
          while (asked.length < RESTORE_PIECES_IN_FLIGHT && next < sizeBytes) {
            const reply = ask(next);
            reply.catch(() => undefined); // awaited in order below; a failure must not go unhandled meanwhile
            asked.push({ offset: next, reply });
            next += RESTORE_PIECE_BYTES;
          }
          const piece = await (asked.shift() as (typeof asked)[number]).reply;
          // The service's refusal (a corrupt backup among them) is the restore's.
          if (piece.reason) throw new BackupVerificationError(`restore of ${id} refused: ${piece.reason}`);
          const expected = Math.min(RESTORE_PIECE_BYTES, sizeBytes - offset);
          if (piece.data.length !== expected)
            throw new BackupVerificationError(
              `restore copy of ${id}: the piece at byte ${offset} has ${piece.data.length} bytes, not ${expected}`,
            );
          sha.update(piece.data);
          yield piece.data;
          offset += expected;
        }
      } finally {
        await Promise.allSettled(asked.map((a) => a.reply));
      }
    }
    await pipeline(pieces, createWriteStream(file));
    return sha.digest('hex');
  }
}
