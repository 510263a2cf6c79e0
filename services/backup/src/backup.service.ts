// The backup service's rules: a slot per upload (within the plan's quota), verification
// of what was uploaded (checksum and manifest) before a backup counts, optional sealing
// at rest, restores that are checked as they are read, and retention that only ever
// removes backups whose host-run has ended (plus the configured days). Agents never
// touch the store: an upload arrives as pieces on the agent's own subject (UploadedPieces)
// and this service writes it, verifying as the pieces arrive; a restore is read through
// this service, piece by piece.
import { createHash, randomBytes } from 'node:crypto';
import {
  type Bus,
  BackupState as BusBackupState,
  type Counter,
  type Histogram,
  type Logger,
  limits,
  type ManifestPackage,
  type Registry,
} from '@yixing/common';
import type { Model } from 'mongoose';
import { backupMetrics } from './backup-metrics.ts';
import type { BackupDoc } from './catalog/backup.model.ts';
import { BackupStates } from './catalog/backup-states.ts';
import { BackupTally } from './catalog/backup-tally.ts';
import type { CommitLeases } from './catalog/commit-lease.model.ts';
import type { Keys } from './crypto/key-ring.ts';
import { firstLine, isDamage, unavailable } from './damage.ts';
import { BackupNotFoundError, BackupOfAnotherHostError, BackupRefusedError, BackupStoreUnavailableError } from './errors.ts';
import { keyMissing, plainStream, RestoreService } from './restore/restore.service.ts';
import { RetentionService } from './retention.service.ts';
import { Semaphore } from './semaphore.ts';
import type { ArchiveStorage } from './storage/archive-storage.ts';
import type { UploadedPieces } from './storage/upload-pieces.ts';
import { storeVerifying } from './verification/upload-verification.ts';
import { inVerifySpan, outcomeOfDoc, type VerifyPhases } from './verify-span.ts';

export interface BackupConfig {
  /** Days a backup is kept after its host-run ended. */
  retentionDays: number;
  /** Bytes a plan's live backups may take; 0 for no quota. */
  planQuotaBytes: number;
  /** An upload not committed within this time fails. */
  uploadTimeoutMs: number;
  /** A restore nobody read from for this long lets go of its reader. */
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

/** A commit's lease on its backup, renewed while it works; one that died lets the next in after it. */
const COMMIT_LEASE_MS = 30_000;

/** A catalogued package: `name version arch`, with ` held` when it is held. */
const packageLine = (p: ManifestPackage): string => `${p.name} ${p.version} ${p.arch}${p.held ? ' held' : ''}`;

interface Following {
  hostId: string;
  runId: string;
  /** The newer upload of the same run that ended this one, if one did. */
  supersededBy?: string;
  /** The agent committed: every piece is published. */
  published: () => void;
  done: Promise<BackupDoc>;
}

export class BackupService {
  readonly #d: BackupServiceDeps;
  readonly #m: { verified: Counter; uploadSeconds: Histogram };
  readonly #tally = new BackupTally();
  readonly #states: BackupStates;
  readonly #retention: RetentionService;
  readonly #verifySlots: Semaphore;
  readonly #restoreService: RestoreService;
  /** Uploads this service verifies as their pieces arrive. */
  readonly #following = new Map<string, Following>();
  constructor(deps: BackupServiceDeps) {
    this.#d = deps;
    this.#verifySlots = new Semaphore(deps.config.maxConcurrentVerifications);
    const { failed, refused, ...m } = backupMetrics(deps.registry, this.#tally);
    this.#m = m;
    const tally = this.#tally;
    this.#states = new BackupStates({ ...deps, tally, failed });
    this.#retention = new RetentionService({ ...deps, states: this.#states, refused });
    this.#restoreService = new RestoreService({
      ...deps,
      states: this.#states,
      restoreSeconds: m.restoreSeconds,
      getFor: (hostId, id) => this.getFor(hostId, id),
      pieceBytes: limits.restoreChunk.data,
      idleMs: deps.config.restoreCopyTtlMs,
    });
  }

  /** Loads what the catalogue adds up to (before any request is served). */
  async start(): Promise<void> {
    await this.#tally.load(this.#d.model);
    this.#retention.dropOldRestoreCopies().catch((err: Error) => this.#d.log.warn({ err: err.message }, 'old restore copies not removed'));
  }

  async stop(): Promise<void> {
    await this.#restoreService.closeAll();
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
      const used = this.#tally.planBytes(req.planId);
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
    await this.#states.create(doc); // counted in its plan at once: the next slot request sees it
    return doc;
  }

  /**
   * Starts verifying an upload while its pieces arrive (its slot was just given), so that
   * the commit finds it (nearly) done. Another service's commit meanwhile is told to ask
   * again; if this one fails to finish, the next commit verifies from the start.
   */
  follow(doc: BackupDoc): void {
    // An upload its agent gave up (it asked for a new slot for the same run: its publish
    // failed, or it restarted) is read as it stands and fails at once, instead of holding
    // a verification slot until its read stalls a minute later: at a wave's start the
    // queue behind such uploads once outlasted the other agents' commit timeout.
    for (const f of this.#following.values()) {
      if (f.hostId !== doc.hostId || f.runId !== doc.runId) continue;
      f.supersededBy = doc._id;
      f.published();
    }
    let published: () => void = () => undefined;
    const signal = new Promise<void>((resolve) => {
      published = resolve;
    });
    const done = this.#verifyLeased(doc._id, signal);
    const entry: Following = { hostId: doc.hostId, runId: doc.runId, published, done };
    this.#following.set(doc._id, entry);
    done
      .catch((err: Error) => this.#d.log.debug({ err: err.message, backup: doc._id }, 'upload not verified as it arrived'))
      .finally(() => {
        if (this.#following.get(doc._id) === entry) this.#following.delete(doc._id);
      });
  }

  /** Why an upload failed, saying so when a newer upload of its run superseded it. */
  #failure(doc: BackupDoc, reason: string): string {
    const by = this.#following.get(doc._id)?.supersededBy;
    return by ? `superseded by upload ${by} of the same run: ${reason}` : reason;
  }

  async get(id: string): Promise<BackupDoc> {
    const doc = await this.#states.get(id);
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
   * The agent finished uploading: its pieces (from its own host's subject only) are read
   * once, checked against what it declared (SHA-256 of the whole, SHA-256 of its
   * manifest, the paths it holds) and stored (sealed if a key is set) in the same pass,
   * what the store recorded is checked against what was written, and only then is it
   * marked verified. Idempotent: a repeated commit of a verified backup answers verified,
   * an interrupted one is done again.
   */
  async commit(hostId: string, id: string): Promise<BackupDoc> {
    const doc = await this.getFor(hostId, id);
    if (doc.state !== 'uploading') return doc;
    const following = this.#following.get(id);
    if (following) {
      following.published();
      return following.done;
    }
    return this.#verifyLeased(id, Promise.resolve());
  }

  /** One verification of the upload at a time, across services (the commit lease). */
  async #verifyLeased(id: string, published: Promise<void>): Promise<BackupDoc> {
    // Verification reads, hashes and writes the whole archive: a few at a time, the
    // others queue (their agents wait on the commit reply, which allows for it).
    await this.#verifySlots.acquire();
    try {
      const now = this.#d.clock();
      if (!(await this.#d.leases.take(id, now, now + COMMIT_LEASE_MS)))
        throw new BackupStoreUnavailableError(`backup ${id} is being verified; ask again`);
      // Renewed while this commit works: a service that dies lets the next commit in soon.
      const renew = setInterval(() => {
        this.#d.leases.renew(id, this.#d.clock() + COMMIT_LEASE_MS).catch(() => undefined);
      }, COMMIT_LEASE_MS / 3);
      try {
        const claimed = await this.get(id); // as it is now that the lease is ours
        return claimed.state === 'uploading'
          ? await inVerifySpan(claimed, 'commit', (phases) => this.#verifyUpload(claimed, published, phases), outcomeOfDoc)
          : claimed;
      } finally {
        clearInterval(renew);
        await this.#d.leases.release(id);
      }
    } finally {
      this.#verifySlots.release();
    }
  }

  async #verifyUpload(doc: BackupDoc, published: Promise<void>, phases: VerifyPhases): Promise<BackupDoc> {
    const key = this.#d.keys.sealing;
    let found: Awaited<ReturnType<typeof storeVerifying>>;
    try {
      const pieces = this.#d.uploads.read(doc.hostId, doc._id, doc.sizeBytes, published);
      found = await storeVerifying(doc, pieces, this.#d.storage, key, phases);
    } catch (err) {
      if (!isDamage(err)) throw unavailable(`upload ${doc._id}`, err);
      return this.#states.fail(doc, this.#failure(doc, `upload unreadable: ${firstLine(err)}`));
    }
    if (!found.ok) return this.#states.fail(doc, this.#failure(doc, found.reason));
    const verified = await this.#states.set(doc, 'verified', {
      verifiedAt: this.#now,
      storedBytes: found.storedBytes,
      keyId: key?.id ?? null,
      packages: found.manifest.manifest.map(packageLine),
      packageCount: found.manifest.manifest.length,
      osRelease: `${found.manifest.osRelease.id} ${found.manifest.osRelease.versionId}`,
    });
    if (!verified) return this.get(doc._id);
    this.#m.verified.inc();
    this.#m.uploadSeconds.observe((this.#d.clock() - new Date(verified.createdAt).getTime()) / 1000);
    this.#states.event(verified, BusBackupState.VERIFIED);
    await this.#states.dropPieces(verified);
    return verified;
  }

  /** Re-reads a verified backup end to end; a corrupt one is marked failed. */
  async verify(id: string): Promise<{ ok: boolean; reason: string; doc: BackupDoc }> {
    const doc = await this.get(id);
    if (doc.state !== 'verified') return { ok: false, reason: `backup is ${doc.state}`, doc };
    const noKey = keyMissing(doc, this.#d.keys);
    if (noKey) return { ok: false, reason: noKey, doc };
    const reread = async (): Promise<{ ok: boolean; reason: string; doc: BackupDoc }> => {
      try {
        const h = createHash('sha256');
        for await (const c of plainStream(doc, this.#d.storage, this.#d.keys)) h.update(c);
        const sha = h.digest('hex');
        if (sha === doc.sha256) return { ok: true, reason: '', doc };
        const failed = await this.#states.fail(doc, `corrupt: stored backup reads as SHA-256 ${sha}, recorded ${doc.sha256}`);
        return { ok: false, reason: failed.reason, doc: failed };
      } catch (err) {
        if (!isDamage(err)) return { ok: false, reason: unavailable(`backup ${id}`, err).message, doc };
        const failed = await this.#states.fail(doc, `corrupt: ${firstLine(err)}`);
        return { ok: false, reason: failed.reason, doc: failed };
      }
    };
    return inVerifySpan(doc, 'reread', reread, (r) => ({ ...(r.ok ? {} : { failure: r.reason }), ...outcomeOfDoc(r.doc) }));
  }

  restore(hostId: string, id: string): Promise<{ object: string; sha256: string; sizeBytes: number }> {
    return this.#restoreService.restore(hostId, id);
  }

  readPiece(hostId: string, id: string, object: string, cursor: string): Promise<{ data: Uint8Array; next: string }> {
    return this.#restoreService.readPiece(hostId, id, object, cursor);
  }

  runFinished(evt: { hostId: string; runId: string; atMs: number }): Promise<{ applied: number; refused: number }> {
    return this.#retention.runFinished(evt);
  }

  guardDelete(doc: BackupDoc): string | undefined {
    return this.#retention.guardDelete(doc);
  }

  delete(id: string): Promise<BackupDoc> {
    return this.#retention.delete(id, (i) => this.get(i));
  }

  sweep(): Promise<{ expired: number; stalled: number }> {
    return this.#retention.sweep();
  }
}
