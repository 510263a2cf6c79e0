// A backup's state changes: conditional writes (state + version), the event each one
// announces, and the tally each one moves. On FerretDB v1 a conditional update is not a
// compare-and-swap, so this service makes one change of a backup at a time (across its
// own callers: a sweep and an operator's delete of the same backup); the commit lease
// does it across services for the commit.
import {
  type Bus,
  BackupState as BusBackupState,
  type Counter,
  clip,
  conditionalUpdate,
  type Logger,
  StaleWriteError,
} from '@yixing/common';
import type { Model } from 'mongoose';
import { failureReason } from '../failure-reasons.ts';
import type { ArchiveStorage } from '../storage/archive-storage.ts';
import type { UploadedPieces } from '../storage/upload-pieces.ts';
import type { BackupDoc } from './backup.model.ts';
import type { BackupTally } from './backup-tally.ts';

export interface BackupStatesDeps {
  model: Model<BackupDoc>;
  tally: BackupTally;
  storage: ArchiveStorage;
  uploads: UploadedPieces;
  bus: Bus;
  log: Logger;
  clock: () => number;
  failed: Counter<'reason'>;
}

export class BackupStates {
  readonly #d: BackupStatesDeps;
  /** Each backup's last change in progress here: the next waits for it. */
  readonly #changing = new Map<string, Promise<unknown>>();

  constructor(deps: BackupStatesDeps) {
    this.#d = deps;
  }

  async get(id: string): Promise<BackupDoc | null> {
    return this.#d.model.findById(id).lean<BackupDoc>();
  }

  /** A new backup (an upload slot): catalogued, and counted in its plan. */
  async create(doc: BackupDoc): Promise<void> {
    this.#d.tally.changed(undefined, doc);
    try {
      await this.#d.model.create(doc);
    } catch (err) {
      this.#d.tally.changed(doc, { ...doc, state: 'failed' }); // never written: not counted
      throw err;
    }
  }

  /** Moves `doc` to `state` if it is still as read; undefined when it was not (someone else moved it). */
  set(doc: BackupDoc, state: BackupDoc['state'], changes: Partial<BackupDoc>): Promise<BackupDoc | undefined> {
    const prior = this.#changing.get(doc._id) ?? Promise.resolve();
    const change = prior.then(() => this.#set(doc, state, changes));
    const settled = change.catch(() => undefined);
    this.#changing.set(doc._id, settled);
    void settled.then(() => {
      if (this.#changing.get(doc._id) === settled) this.#changing.delete(doc._id);
    });
    return change;
  }

  async #set(doc: BackupDoc, state: BackupDoc['state'], changes: Partial<BackupDoc>): Promise<BackupDoc | undefined> {
    let after: BackupDoc | undefined;
    try {
      after = await conditionalUpdate(
        this.#d.model,
        { _id: doc._id, version: doc.version, state: doc.state },
        { $set: { state, ...changes } },
      );
    } catch (err) {
      if (err instanceof StaleWriteError) return undefined;
      throw err;
    }
    if (after) this.#d.tally.changed(doc, after);
    return after;
  }

  event(doc: BackupDoc, state: BusBackupState, reason = ''): void {
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

  /** Marks the backup failed (if it still is as read), counted and announced; the catalogue's word after. */
  async fail(doc: BackupDoc, reason: string): Promise<BackupDoc> {
    const failed = await this.set(doc, 'failed', { reason });
    // Someone else moved it first (a newer commit, a verification): theirs is the word.
    if (!failed) return (await this.get(doc._id)) ?? doc;
    this.#d.failed.inc({ reason: failureReason(reason) });
    this.event(doc, BusBackupState.FAILED, reason);
    // A failed upload is dropped, its pieces and anything stored of it; a backup found
    // corrupt later is kept for a look.
    if (doc.state === 'uploading') {
      await this.dropPieces(doc);
      await this.#d.storage.delete(doc.object);
    }
    return failed;
  }

  /** The upload's pieces are no longer needed; left behind, the stream's age limit drops them. */
  async dropPieces(doc: BackupDoc): Promise<void> {
    await this.#d.uploads
      .discard(doc.hostId, doc._id)
      .catch((err: Error) => this.#d.log.warn({ err: err.message, backup: doc._id }, 'upload pieces not purged'));
  }
}
