// Restores, read through the service: a grant from the catalogue (the host's own verified
// backup, a key to unseal it), then pieces at fixed offsets of its plaintext from one
// checked pass per restore (RestoreReads). A backup found corrupt on the way is marked
// failed and its piece refused.
import type { Histogram } from '@yixing/common';
import type { BackupDoc } from '../catalog/backup.model.ts';
import type { BackupStates } from '../catalog/backup-states.ts';
import type { Keys } from '../crypto/key-ring.ts';
import { unseal } from '../crypto/sealed-stream.ts';
import { firstLine, isDamage, unavailable } from '../damage.ts';
import { BackupRefusedError } from '../errors.ts';
import type { ArchiveStorage } from '../storage/archive-storage.ts';
import { parseOffset, RestoreReads } from './restore-reads.ts';

/** How long a restore read checked against the catalog is read without checking again. */
const READ_CHECK_MS = 60_000;

/** A restore nobody asked a piece of for this long lets go of its reader (at most). */
const RESTORE_IDLE_MS = 30_000;

/** A sealed backup whose key this service lacks cannot be read; that is not corruption. */
export function keyMissing(doc: BackupDoc, keys: Keys): string | undefined {
  if (!doc.keyId || keys.byId.has(doc.keyId)) return undefined;
  return `backup ${doc._id} is sealed with key ${doc.keyId}, which this service does not have (YX_BACKUP_RETIRED_KEY_FILES)`;
}

/** A stored backup's plaintext: unsealed when the catalog says it was sealed. */
export function plainStream(doc: BackupDoc, storage: ArchiveStorage, keys: Keys): AsyncIterable<Uint8Array> {
  const raw = storage.get(doc.object);
  return doc.keyId ? unseal(raw, (id) => keys.byId.get(id)) : raw;
}

export interface RestoreServiceDeps {
  storage: ArchiveStorage;
  keys: Keys;
  states: BackupStates;
  clock: () => number;
  restoreSeconds: Histogram;
  /** The catalogue's entry, as the host may see it. */
  getFor(hostId: string, id: string): Promise<BackupDoc>;
  pieceBytes: number;
  idleMs: number;
}

export class RestoreService {
  readonly #d: RestoreServiceDeps;
  readonly #restores: RestoreReads;
  /** Restores being read, checked against the catalog (host, backup and object): the entry, until when. */
  readonly #reads = new Map<string, { doc: Promise<{ doc: BackupDoc; digestChecked: boolean }>; until: number }>();

  constructor(deps: RestoreServiceDeps) {
    this.#d = deps;
    this.#restores = new RestoreReads({ pieceBytes: deps.pieceBytes, idleMs: Math.min(RESTORE_IDLE_MS, deps.idleMs), clock: deps.clock });
  }

  closeAll(): Promise<void> {
    return this.#restores.closeAll();
  }

  /**
   * A restore is granted from the catalogue (the host's own verified backup, a key to
   * unseal it): the backup itself is then read through `readPiece`, unsealed and checked
   * as it is read, and the agent checks it again before it writes anything.
   */
  async restore(hostId: string, id: string): Promise<{ object: string; sha256: string; sizeBytes: number }> {
    const doc = await this.#d.getFor(hostId, id);
    if (doc.state !== 'verified') throw new BackupRefusedError(`backup ${id} is ${doc.state}${doc.reason ? ` (${doc.reason})` : ''}`);
    const noKey = keyMissing(doc, this.#d.keys);
    if (noKey) throw new BackupRefusedError(noKey);
    return { object: doc.object, sha256: doc.sha256, sizeBytes: doc.sizeBytes };
  }

  /**
   * A piece of a restore `restore` granted, for the host whose backup it is: the
   * plaintext at the byte offset `cursor` ('' for 0), at most a restore chunk of it. A
   * backup found corrupt on the way is marked failed and the piece refused.
   */
  async readPiece(hostId: string, id: string, object: string, cursor: string): Promise<{ data: Uint8Array; next: string }> {
    const key = `${hostId}\n${id}\n${object}`;
    const now = this.#d.clock();
    // Checked against the catalog once per read, not once per piece (another replica of
    // this service may have granted it: then the first piece here checks). Pieces asked
    // for at once share the check, so they reach the restore's pass in the order they came.
    let read = this.#reads.get(key);
    if (!read || read.until <= now) {
      for (const [k, r] of this.#reads) if (r.until <= now) this.#reads.delete(k);
      read = { doc: this.#grantedRead(hostId, id, object), until: now + READ_CHECK_MS };
      this.#reads.set(key, read);
      read.doc.catch(() => this.#reads.delete(key));
    }
    const { doc: checked, digestChecked } = await read.doc;
    const offset = parseOffset(cursor);
    if (offset === undefined || offset >= checked.sizeBytes)
      throw new BackupRefusedError(`cursor ${JSON.stringify(cursor)} is not a piece of backup ${id}'s ${checked.sizeBytes} bytes`);
    try {
      const piece = await this.#restores.piece(
        {
          key,
          sha256: checked.sha256,
          digestChecked,
          sizeBytes: checked.sizeBytes,
          open: () => plainStream(checked, this.#d.storage, this.#d.keys),
        },
        offset,
      );
      if (piece.last) this.#d.restoreSeconds.observe((this.#d.clock() - now) / 1000);
      return piece;
    } catch (err) {
      if (!isDamage(err)) throw unavailable(`backup ${id}`, err);
      const why = firstLine(err);
      await this.#d.states.fail(checked, `corrupt: ${why}`);
      this.#reads.delete(key);
      throw new BackupRefusedError(`backup ${id} is corrupt and cannot be restored: ${why}`);
    }
  }

  /** The host's verified backup, if `object` is what its grant named and this service can unseal it. */
  async #grantedRead(hostId: string, id: string, object: string): Promise<{ doc: BackupDoc; digestChecked: boolean }> {
    const doc = await this.#d.getFor(hostId, id);
    if (doc.state !== 'verified') throw new BackupRefusedError(`backup ${id} is ${doc.state}`);
    if (object !== doc.object) throw new BackupRefusedError(`${object} is not a restore copy of backup ${id}`);
    const noKey = keyMissing(doc, this.#d.keys);
    if (noKey) throw new BackupRefusedError(noKey);
    if (doc.keyId) return { doc, digestChecked: false };
    // A plain backup is its stored bytes: if the store's digest (which every read checks)
    // is the catalogue's SHA-256, reading it through is the check, with no hash of our own.
    try {
      const stored = await this.#d.storage.stat(doc.object);
      if (stored.sha256 !== doc.sha256) {
        const why = `the store holds SHA-256 ${stored.sha256} under ${doc.object}, recorded ${doc.sha256}`;
        await this.#d.states.fail(doc, `corrupt: ${why}`);
        throw new BackupRefusedError(`backup ${id} is corrupt and cannot be restored: ${why}`);
      }
    } catch (err) {
      if (err instanceof BackupRefusedError) throw err;
      if (!isDamage(err)) throw unavailable(`backup ${id}`, err);
      await this.#d.states.fail(doc, `corrupt: ${firstLine(err)}`);
      throw new BackupRefusedError(`backup ${id} is corrupt and cannot be restored: ${firstLine(err)}`);
    }
    return { doc, digestChecked: true };
  }
}
