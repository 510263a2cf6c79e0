// The backup service's rules: a slot per upload (within the plan's quota), verification
// of what was uploaded (checksum and manifest) before a backup counts, optional sealing
// at rest, restores that are checked before they are handed out, and retention that only
// ever removes backups whose host-run has ended (plus the configured days). Agents never
// touch the store: an upload arrives as pieces on the agent's own subject (UploadedPieces)
// and this service writes it; a restore copy is read through this service, piece by piece.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  BACKUP_MANIFEST_MEMBER,
  type BackupManifest,
  BackupManifestError,
  type Bus,
  BackupState as BusBackupState,
  CorruptObjectError,
  Counter,
  clampEventTime,
  clip,
  conditionalUpdate,
  Gauge,
  Histogram,
  type Logger,
  limits,
  listTarMembers,
  type ManifestPackage,
  manifestMismatch,
  ObjectMissingError,
  parseBackupManifest,
  type Registry,
  readTarMember,
  StaleWriteError,
} from '@yixing/common';
import type { Model } from 'mongoose';
import type { BackupDoc } from './catalog/backup.model.ts';
import type { CommitLeases } from './catalog/commit-lease.model.ts';
import type { Keys } from './crypto/key-ring.ts';
import { SealedStreamError, seal, unseal } from './crypto/sealed-stream.ts';
import { BackupNotFoundError, BackupOfAnotherHostError, BackupRefusedError, BackupStoreUnavailableError } from './errors.ts';
import { FAILURE_REASONS, failureReason } from './failure-reasons.ts';
import { Semaphore } from './semaphore.ts';
import type { ArchiveStorage } from './storage/archive-storage.ts';
import { type UploadedPieces, UploadPiecesError } from './storage/upload-pieces.ts';
import { inVerifySpan, outcomeOfDoc, type VerifyPhases } from './verify-span.ts';

export interface BackupConfig {
  /** Days a backup is kept after its host-run ended. */
  retentionDays: number;
  /** Bytes a plan's live backups may take; 0 for no quota. */
  planQuotaBytes: number;
  /** An upload not committed within this time fails. */
  uploadTimeoutMs: number;
  restoreCopyTtlMs: number;
  bucket: string;
  /** Verifications run at once; more commits wait their turn. */
  maxConcurrentVerifications: number;
}

export interface BackupServiceDeps {
  model: Model<BackupDoc>;
  leases: CommitLeases;
  storage: ArchiveStorage;
  /** Where agents' uploads arrive, piece by piece. */
  uploads: UploadedPieces;
  bus: Bus;
  log: Logger;
  registry: Registry;
  clock: () => number;
  keys: Keys;
  config: BackupConfig;
}

export { BackupNotFoundError, BackupOfAnotherHostError, BackupRefusedError, BackupStoreUnavailableError };

/** What the stored bytes themselves are to blame for; anything else is not the backup's fault. */
const isDamage = (err: unknown): boolean =>
  err instanceof CorruptObjectError ||
  err instanceof ObjectMissingError ||
  err instanceof SealedStreamError ||
  err instanceof UploadPiecesError;

/** A commit's lease on its backup, renewed while it works; one that died lets the next in after it. */
const COMMIT_LEASE_MS = 30_000;

/** How long a restore copy checked against the catalog is read without checking again. */
const READ_CHECK_MS = 60_000;

const firstLine = (err: unknown): string => (err as Error).message.split('\n')[0] as string;

/** A store error that is not damage, as the retryable error callers see. */
const unavailable = (what: string, err: unknown): BackupStoreUnavailableError =>
  new BackupStoreUnavailableError(`${what} could not be read just now (${firstLine(err)}); try again`);

/** Writes a stored object to a local file, returning its SHA-256 (one pass). */
async function downloadHashing(source: AsyncIterable<Uint8Array>, file: string): Promise<string> {
  const h = createHash('sha256');
  async function* hashed(): AsyncIterable<Uint8Array> {
    for await (const c of source) {
      h.update(c);
      yield c;
    }
  }
  await pipeline(hashed, createWriteStream(file));
  return h.digest('hex');
}

async function* readFileChunks(file: string): AsyncIterable<Uint8Array> {
  for await (const c of createReadStream(file, { highWaterMark: 256 * 1024 })) yield c as Buffer;
}

export class BackupService {
  readonly #d: BackupServiceDeps;
  readonly #m: {
    verified: Counter;
    failed: Counter<'reason'>;
    refused: Counter<'route' | 'reason'>;
    uploadSeconds: Histogram;
    restoreSeconds: Histogram;
  };

  readonly #verifySlots: Semaphore;
  /** Restore copies being read, checked against the catalog: host, backup and object, until when. */
  readonly #reads = new Map<string, number>();

  constructor(deps: BackupServiceDeps) {
    this.#d = deps;
    this.#verifySlots = new Semaphore(deps.config.maxConcurrentVerifications);
    const registers = [deps.registry];
    const model = deps.model;
    new Gauge({
      name: 'yx_backup_bytes_stored',
      help: 'Bytes held by verified backups',
      registers,
      async collect() {
        const docs = await model.find({ state: 'verified' }, { storedBytes: 1 }).lean<{ storedBytes: number }[]>();
        this.set(docs.reduce((n, d) => n + d.storedBytes, 0));
      },
    });
    this.#m = {
      verified: new Counter({ name: 'yx_backup_verified_total', help: 'Backups verified', registers }),
      failed: new Counter({
        name: 'yx_backup_failed_total',
        help: `Backups that failed verification or restore checks, by reason (${FAILURE_REASONS.join(', ')})`,
        labelNames: ['reason'],
        registers,
      }),
      refused: new Counter({
        name: 'yx_backup_events_refused_total',
        help: 'Bus events dropped unapplied because their sender may not speak for the backups they name',
        labelNames: ['route', 'reason'],
        registers,
      }),
      uploadSeconds: new Histogram({
        name: 'yx_backup_upload_seconds',
        help: 'From slot to verified',
        buckets: [0.1, 0.5, 1, 5, 15, 60, 300],
        registers,
      }),
      restoreSeconds: new Histogram({
        name: 'yx_backup_restore_seconds',
        help: 'Time to check and hand out a restore',
        buckets: [0.1, 0.5, 1, 5, 15, 60],
        registers,
      }),
    };
    for (const reason of FAILURE_REASONS) this.#m.failed.inc({ reason }, 0);
  }

  get #now(): Date {
    return new Date(this.#d.clock());
  }

  async slot(req: {
    hostId: string;
    runId: string;
    planId: string;
    paths: string[];
    sizeBytes: number;
    sha256: string;
    manifestSha256: string;
  }): Promise<BackupDoc> {
    if (!Number.isSafeInteger(req.sizeBytes) || req.sizeBytes <= 0)
      throw new BackupRefusedError(`sizeBytes ${req.sizeBytes}: an archive's size is a positive whole number of bytes`);
    const quota = this.#d.config.planQuotaBytes;
    if (quota > 0 && req.planId) {
      const live = await this.#d.model
        .find({ planId: req.planId, state: { $in: ['uploading', 'verified'] } }, { storedBytes: 1, sizeBytes: 1 })
        .lean<BackupDoc[]>();
      const used = live.reduce((n, b) => n + Math.max(b.storedBytes, b.sizeBytes), 0);
      if (used + req.sizeBytes > quota) {
        throw new BackupRefusedError(`plan ${req.planId} backup quota: ${used} of ${quota} bytes used, ${req.sizeBytes} more asked`);
      }
    }
    const id = `b-${this.#now.toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(6).toString('hex')}`;
    const doc: BackupDoc = {
      _id: id,
      hostId: req.hostId,
      runId: req.runId,
      planId: req.planId,
      paths: req.paths,
      sha256: req.sha256,
      manifestSha256: req.manifestSha256,
      sizeBytes: req.sizeBytes,
      storedBytes: 0,
      object: `backups/${id}`,
      state: 'uploading',
      reason: '',
      keyId: null,
      packages: [],
      packageCount: 0,
      osRelease: '',
      createdAt: this.#now,
      verifiedAt: null,
      runFinalAt: null,
      expiresAt: null,
      deletedAt: null,
      version: 0,
    };
    await this.#d.model.create(doc);
    return doc;
  }

  async #setState(doc: BackupDoc, state: BackupDoc['state'], changes: Partial<BackupDoc>): Promise<BackupDoc | undefined> {
    try {
      return await conditionalUpdate(
        this.#d.model,
        { _id: doc._id, version: doc.version, state: doc.state },
        { $set: { state, ...changes } },
      );
    } catch (err) {
      if (err instanceof StaleWriteError) return undefined;
      throw err;
    }
  }

  #event(doc: BackupDoc, state: BusBackupState, reason = ''): void {
    const eventId = `${doc._id}.${BusBackupState[state]?.toLowerCase() ?? state}`;
    this.#d.bus
      .publishDurable(
        'backupEvent',
        {
          eventId,
          hostId: doc.hostId,
          runId: doc.runId,
          backupId: doc._id,
          state,
          reason: clip('backupEvent', 'reason', reason),
          atMs: this.#d.clock(),
        },
        eventId,
      )
      .catch((err: Error) => this.#d.log.warn({ err: err.message, backup: doc._id }, 'backup event not published'));
  }

  async #fail(doc: BackupDoc, reason: string): Promise<BackupDoc> {
    const failed = await this.#setState(doc, 'failed', { reason });
    // Someone else moved it first (a newer commit, a verification): theirs is the word.
    if (!failed) return this.get(doc._id);
    this.#m.failed.inc({ reason: failureReason(reason) });
    this.#event(doc, BusBackupState.FAILED, reason);
    // A failed upload is dropped, its pieces and any copy made of it; a backup found
    // corrupt later is kept for a look.
    if (doc.state === 'uploading') {
      await this.#dropPieces(doc);
      await this.#d.storage.delete(doc.object);
    }
    return failed;
  }

  /** The upload's pieces are no longer needed; left behind, the stream's age limit drops them. */
  async #dropPieces(doc: BackupDoc): Promise<void> {
    await this.#d.uploads
      .discard(doc.hostId, doc._id)
      .catch((err: Error) => this.#d.log.warn({ err: err.message, backup: doc._id }, 'upload pieces not purged'));
  }

  /** A sealed backup whose key this service lacks cannot be read; that is not corruption. */
  #keyMissing(doc: BackupDoc): string | undefined {
    if (!doc.keyId || this.#d.keys.byId.has(doc.keyId)) return undefined;
    return `backup ${doc._id} is sealed with key ${doc.keyId}, which this service does not have (YX_BACKUP_RETIRED_KEY_FILES)`;
  }

  async get(id: string): Promise<BackupDoc> {
    const doc = await this.#d.model.findById(id).lean<BackupDoc>();
    if (!doc) throw new BackupNotFoundError(`no backup ${id}`);
    return doc;
  }

  /** A backup as `hostId` may see it over the bus: only its own (BackupOfAnotherHostError otherwise). */
  async getFor(hostId: string, id: string): Promise<BackupDoc> {
    const doc = await this.get(id);
    if (doc.hostId !== hostId)
      throw new BackupOfAnotherHostError(`backup ${id} is not host ${hostId}'s: the catalog holds it for another host`, {
        details: { backupId: id, hostId },
      });
    return doc;
  }

  /**
   * The agent finished uploading: assemble its pieces (from its own host's subject only),
   * check the archive against what it declared (SHA-256 of the whole, SHA-256 of its
   * manifest), store it (sealed if a key is set), read the stored copy back, and only
   * then mark it verified. Idempotent: a repeated commit of a
   * verified backup answers verified, an interrupted one is done again.
   */
  async commit(hostId: string, id: string): Promise<BackupDoc> {
    // Verification reads, hashes and rewrites the whole archive: a few at a time, the
    // others queue (their agents wait on the commit reply, which allows for it).
    await this.#verifySlots.acquire();
    try {
      return await this.#commit(hostId, id);
    } finally {
      this.#verifySlots.release();
    }
  }

  async #commit(hostId: string, id: string): Promise<BackupDoc> {
    let doc = await this.getFor(hostId, id);
    if (doc.state !== 'uploading') return doc;
    // One commit at a time per backup, across services; a repeated commit while it runs
    // is told to ask again.
    const now = this.#d.clock();
    if (!(await this.#d.leases.take(id, now, now + COMMIT_LEASE_MS)))
      throw new BackupStoreUnavailableError(`backup ${id} is being verified; ask again`);
    // Renewed while this commit works: a service that dies lets the next commit in soon.
    const renew = setInterval(() => {
      this.#d.leases.renew(id, this.#d.clock() + COMMIT_LEASE_MS).catch(() => undefined);
    }, COMMIT_LEASE_MS / 3);
    try {
      doc = await this.get(id); // as it is now that the lease is ours
      const claimed = doc;
      return claimed.state === 'uploading'
        ? await inVerifySpan(claimed, 'commit', (phases) => this.#verifyUpload(claimed, phases), outcomeOfDoc)
        : claimed;
    } finally {
      clearInterval(renew);
      await this.#d.leases.release(id);
    }
  }

  async #verifyUpload(claimed: BackupDoc, phases: VerifyPhases): Promise<BackupDoc> {
    let doc = claimed;
    const work = await mkdtemp(path.join(tmpdir(), 'yx-backup-'));
    try {
      const file = path.join(work, 'archive.tar');
      let actual: string;
      try {
        actual = await phases.phase('backup upload', () => downloadHashing(this.#d.uploads.read(doc.hostId, doc._id, doc.sizeBytes), file));
      } catch (err) {
        if (!isDamage(err)) throw unavailable(`upload ${doc._id}`, err);
        return this.#fail(doc, `upload unreadable: ${firstLine(err)}`);
      }
      if (actual !== doc.sha256)
        return this.#fail(doc, `checksum: uploaded archive has SHA-256 ${actual}, the agent declared ${doc.sha256}`);
      const size = (await stat(file)).size;
      if (size !== doc.sizeBytes) return this.#fail(doc, `size: uploaded archive has ${size} bytes, the agent declared ${doc.sizeBytes}`);
      const described = await this.#checkManifest(doc, file);
      if (typeof described === 'string') return this.#fail(doc, `manifest: ${described}`);
      const key = this.#d.keys.sealing;
      // Written (sealed if a key is set) and read back: verify what was stored, not what was meant to be.
      const { storedBytes, readBack } = await phases.phase('backup store', async () => {
        const storedBytes = (await this.#d.storage.put(doc.object, key ? seal(readFileChunks(file), key) : readFileChunks(file))).size;
        try {
          return { storedBytes, readBack: await this.#readPlain(doc.object, key !== undefined) };
        } catch (err) {
          if (!isDamage(err)) throw unavailable(`stored copy of ${doc._id}`, err);
          return { storedBytes, readBack: `unreadable (${firstLine(err)})` };
        }
      });
      if (readBack !== doc.sha256) return this.#fail(doc, `stored copy: reads back with SHA-256 ${readBack}`);
      const verified = await this.#setState(doc, 'verified', {
        verifiedAt: this.#now,
        storedBytes,
        keyId: key?.id ?? null,
        packages: described.manifest.map(packageLine),
        packageCount: described.manifest.length,
        osRelease: `${described.osRelease.id} ${described.osRelease.versionId}`,
      });
      if (!verified) return this.get(doc._id);
      doc = verified;
      this.#m.verified.inc();
      this.#m.uploadSeconds.observe((this.#d.clock() - new Date(doc.createdAt).getTime()) / 1000);
      this.#event(doc, BusBackupState.VERIFIED);
      await this.#dropPieces(doc);
      return doc;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * The archive's manifest must be there, match the SHA-256 the agent declared, parse, and
   * describe exactly the declared paths, each of which the archive must hold. Returns the
   * manifest, or what is wrong with it.
   */
  async #checkManifest(doc: BackupDoc, file: string): Promise<BackupManifest | string> {
    let bytes: Buffer | undefined;
    try {
      bytes = await readTarMember(file, BACKUP_MANIFEST_MEMBER);
    } catch (err) {
      if (err instanceof BackupManifestError) return err.message;
      throw err;
    }
    if (!bytes?.length) return `the archive has no ${BACKUP_MANIFEST_MEMBER}`;
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (doc.manifestSha256 && sha !== doc.manifestSha256)
      return `${BACKUP_MANIFEST_MEMBER} has SHA-256 ${sha}, the agent declared ${doc.manifestSha256}`;
    try {
      const manifest = parseBackupManifest(bytes);
      return manifestMismatch(manifest, doc.paths, await listTarMembers(file)) ?? manifest;
    } catch (err) {
      if (err instanceof BackupManifestError) return err.message;
      throw err;
    }
  }

  /** SHA-256 of a stored object's plaintext. */
  async #readPlain(object: string, sealed: boolean): Promise<string> {
    const h = createHash('sha256');
    for await (const c of this.#plainStream(object, sealed)) h.update(c);
    return h.digest('hex');
  }

  /** A stored object's plaintext: unsealed when the catalog says it was sealed. */
  #plainStream(object: string, sealed: boolean): AsyncIterable<Uint8Array> {
    const raw = this.#d.storage.get(object);
    return sealed ? unseal(raw, (id) => this.#d.keys.byId.get(id)) : raw;
  }

  /** Re-reads a verified backup end to end; a corrupt one is marked failed. */
  async verify(id: string): Promise<{ ok: boolean; reason: string; doc: BackupDoc }> {
    const doc = await this.get(id);
    if (doc.state !== 'verified') return { ok: false, reason: `backup is ${doc.state}`, doc };
    const noKey = this.#keyMissing(doc);
    if (noKey) return { ok: false, reason: noKey, doc };
    const reread = async (): Promise<{ ok: boolean; reason: string; doc: BackupDoc }> => {
      try {
        const sha = await this.#readPlain(doc.object, doc.keyId !== null);
        if (sha === doc.sha256) return { ok: true, reason: '', doc };
        const failed = await this.#fail(doc, `corrupt: stored backup reads as SHA-256 ${sha}, recorded ${doc.sha256}`);
        return { ok: false, reason: failed.reason, doc: failed };
      } catch (err) {
        if (!isDamage(err)) return { ok: false, reason: unavailable(`backup ${id}`, err).message, doc };
        const failed = await this.#fail(doc, `corrupt: ${firstLine(err)}`);
        return { ok: false, reason: failed.reason, doc: failed };
      }
    };
    return inVerifySpan(doc, 'reread', reread, (r) => ({ ...(r.ok ? {} : { failure: r.reason }), ...outcomeOfDoc(r.doc) }));
  }

  /**
   * A restore: the stored backup is read, unsealed and checked against its recorded
   * SHA-256 while a plain copy is written for the agent, which checks it again before it
   * writes anything. A corrupt backup is refused (and marked failed).
   */
  async restore(hostId: string, id: string): Promise<{ object: string; sha256: string; sizeBytes: number }> {
    const started = this.#d.clock();
    const doc = await this.getFor(hostId, id);
    if (doc.state !== 'verified') throw new BackupRefusedError(`backup ${id} is ${doc.state}${doc.reason ? ` (${doc.reason})` : ''}`);
    const noKey = this.#keyMissing(doc);
    if (noKey) throw new BackupRefusedError(noKey);
    // A sealed backup is handed out as a checked plain copy (the agent has no key); a plain
    // one is checked where it is and handed out as it is.
    const object = doc.keyId ? `restore/${id}/${this.#d.clock()}-${randomBytes(4).toString('hex')}` : doc.object;
    const h = createHash('sha256');
    let size = 0;
    const self = this;
    async function* checked(): AsyncIterable<Uint8Array> {
      for await (const c of self.#plainStream(doc.object, doc.keyId !== null)) {
        h.update(c);
        size += c.length;
        yield c;
      }
    }
    const corrupt = async (why: string): Promise<never> => {
      if (object !== doc.object) await this.#d.storage.delete(object);
      await this.#fail(doc, `corrupt: ${why}`);
      throw new BackupRefusedError(`backup ${id} is corrupt and cannot be restored: ${why}`);
    };
    try {
      if (object === doc.object) {
        for await (const _ of checked()) {
          // read through: hashing the plaintext is the check
        }
      } else await this.#d.storage.put(object, checked());
    } catch (err) {
      if (!isDamage(err)) {
        if (object !== doc.object) await this.#d.storage.delete(object).catch(() => undefined);
        throw unavailable(`backup ${id}`, err);
      }
      return corrupt(firstLine(err));
    }
    const sha = h.digest('hex');
    if (sha !== doc.sha256) return corrupt(`reads as SHA-256 ${sha}, recorded ${doc.sha256}`);
    this.#m.restoreSeconds.observe((this.#d.clock() - started) / 1000);
    return { object, sha256: sha, sizeBytes: size };
  }

  /**
   * A piece of a restore copy `restore` handed out, for the host whose backup it is: the
   * backup's own object when plain, a copy under `restore/<id>/` when sealed; nothing
   * else in the store can be named.
   */
  async readPiece(hostId: string, id: string, object: string, cursor: string): Promise<{ data: Uint8Array; next: string }> {
    const key = `${hostId}\n${id}\n${object}`;
    const now = this.#d.clock();
    // Checked against the catalog once per read, not once per piece (another replica of
    // this service may have granted it: then the first piece here checks).
    if ((this.#reads.get(key) ?? 0) <= now) {
      const doc = await this.getFor(hostId, id);
      if (doc.state !== 'verified') throw new BackupRefusedError(`backup ${id} is ${doc.state}`);
      const prefix = `restore/${id}/`;
      const granted = doc.keyId ? object.startsWith(prefix) && !object.slice(prefix.length).includes('/') : object === doc.object;
      if (!granted) throw new BackupRefusedError(`${object} is not a restore copy of backup ${id}`);
      for (const [k, until] of this.#reads) if (until <= now) this.#reads.delete(k);
      this.#reads.set(key, now + READ_CHECK_MS);
    }
    try {
      return await this.#d.storage.readPiece(object, cursor, limits.restoreChunk.data);
    } catch (err) {
      if (isDamage(err)) throw new BackupRefusedError(`restore copy of ${id}: ${firstLine(err)}`);
      throw unavailable(`restore copy of ${id}`, err);
    }
  }

  /**
   * The run ended: its backups may expire `retentionDays` after. Only the backups of the
   * host the event names (the host of its subject, which only the scheduler may publish
   * on) are touched: a RunFinished about another host's run changes nothing and is
   * counted. Its time is clamped: not before the backup was made (the run was live then),
   * not after now plus a small skew, so a forged `atMs: 1` cannot expire a backup at once.
   * Returns how many backups it applied to and how many it refused.
   */
  async runFinished(evt: { hostId: string; runId: string; atMs: number }): Promise<{ applied: number; refused: number }> {
    const now = this.#d.clock();
    const docs = await this.#d.model.find({ runId: evt.runId, runFinalAt: null }).lean<BackupDoc[]>();
    let applied = 0;
    const others = docs.filter((d) => d.hostId !== evt.hostId);
    for (const doc of docs.filter((d) => d.hostId === evt.hostId)) {
      const at = clampEventTime(evt.atMs, { notBefore: new Date(doc.createdAt).getTime(), now });
      const expires = new Date(at + this.#d.config.retentionDays * 86_400_000);
      const r = await this.#d.model.updateOne(
        { _id: doc._id, runFinalAt: null },
        { $set: { runFinalAt: new Date(at), expiresAt: expires }, $inc: { version: 1 } },
      );
      applied += r.modifiedCount;
    }
    if (others.length > 0) {
      this.#m.refused.inc({ route: 'runFinished', reason: 'other-host' }, others.length);
      this.#d.log.warn(
        { sender: evt.hostId, run: evt.runId, backups: others.map((d) => `${d._id} of ${d.hostId}`) },
        `run-finished refused: host ${evt.hostId}'s event names run ${evt.runId}, whose backups are another host's`,
      );
    }
    return { applied, refused: others.length };
  }

  /**
   * A verified backup may be deleted only once its host-run is final: until then its
   * rollback may need it (other verified backups of the host, older runs' or abandoned
   * attempts', do not stand in for it).
   */
  guardDelete(doc: BackupDoc): string | undefined {
    if (doc.state !== 'verified' || doc.runFinalAt) return undefined;
    return `backup ${doc._id} is verified and host ${doc.hostId}'s run ${doc.runId} has not ended; a rollback may need it`;
  }

  async delete(id: string): Promise<BackupDoc> {
    const doc = await this.get(id);
    if (doc.state === 'deleted' || doc.state === 'expired') return doc;
    const refused = this.guardDelete(doc);
    if (refused) throw new BackupRefusedError(refused);
    // The catalog first: bytes are only removed once no entry can call them verified.
    const deleted = await this.#setState(doc, 'deleted', { deletedAt: this.#now });
    if (!deleted) return this.delete(id);
    await this.#d.storage.delete(doc.object);
    return deleted;
  }

  /** Expired backups removed, stalled uploads failed, old restore copies dropped. */
  async sweep(): Promise<{ expired: number; stalled: number }> {
    const now = this.#d.clock();
    let expired = 0;
    for (const doc of await this.#d.model.find({ state: 'verified', expiresAt: { $lte: new Date(now) } }).lean<BackupDoc[]>()) {
      if (!doc.runFinalAt) continue; // never before its run ended
      if (!(await this.#setState(doc, 'expired', { deletedAt: new Date(now) }))) continue;
      await this.#d.storage.delete(doc.object);
      expired++;
      this.#event(doc, BusBackupState.EXPIRED);
    }
    let stalled = 0;
    for (const doc of await this.#d.model
      .find({ state: 'uploading', createdAt: { $lte: new Date(now - this.#d.config.uploadTimeoutMs) } })
      .lean<BackupDoc[]>()) {
      if (await this.#d.leases.held(doc._id, now)) continue; // being verified
      await this.#fail(doc, `upload not committed within ${this.#d.config.uploadTimeoutMs} ms`);
      stalled++;
    }
    for (const o of await this.#d.storage.list('restore/')) {
      const at = Number(o.name.split('/')[2]?.split('-')[0]);
      if (now - at > this.#d.config.restoreCopyTtlMs) await this.#d.storage.delete(o.name);
    }
    return { expired, stalled };
  }
}

/** A catalogued package: `name version arch`, with ` held` when it is held. */
const packageLine = (p: ManifestPackage): string => `${p.name} ${p.version} ${p.arch}${p.held ? ' held' : ''}`;
