// Retention: a backup may expire `retentionDays` after its host-run ended, never before;
// an operator may delete one whose run has ended; uploads never committed fail. The sweep
// reads only what is due (indexed by state and time), so it costs what changed, not the
// size of the catalogue or the bucket.
import { BackupState as BusBackupState, type Counter, clampEventTime, type Logger } from '@yixing/common';
import type { Model } from 'mongoose';
import type { BackupDoc } from './catalog/backup.model.ts';
import type { BackupStates } from './catalog/backup-states.ts';
import type { CommitLeases } from './catalog/commit-lease.model.ts';
import { BackupRefusedError } from './errors.ts';
import type { ArchiveStorage } from './storage/archive-storage.ts';

export interface RetentionDeps {
  model: Model<BackupDoc>;
  states: BackupStates;
  leases: CommitLeases;
  storage: ArchiveStorage;
  log: Logger;
  clock: () => number;
  refused: Counter<'route' | 'reason'>;
  config: { retentionDays: number; uploadTimeoutMs: number };
}

/** Due backups read per query of a sweep; the rest wait for the next sweep. */
const SWEEP_BATCH = 500;

export class RetentionService {
  readonly #d: RetentionDeps;

  constructor(deps: RetentionDeps) {
    this.#d = deps;
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
      this.#d.refused.inc({ route: 'runFinished', reason: 'other-host' }, others.length);
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

  /** Deletes the backup `get` reads (the catalogue's word, NOT_FOUND when absent). */
  async delete(id: string, get: (id: string) => Promise<BackupDoc>): Promise<BackupDoc> {
    const doc = await get(id);
    if (doc.state === 'deleted' || doc.state === 'expired') return doc;
    const refused = this.guardDelete(doc);
    if (refused) throw new BackupRefusedError(refused);
    // The catalog first: bytes are only removed once no entry can call them verified.
    const deleted = await this.#d.states.set(doc, 'deleted', { deletedAt: new Date(this.#d.clock()) });
    if (!deleted) return this.delete(id, get);
    await this.#d.storage.delete(doc.object);
    return deleted;
  }

  /** Expired backups removed, stalled uploads failed: only those due are read. */
  async sweep(): Promise<{ expired: number; stalled: number }> {
    const now = this.#d.clock();
    let expired = 0;
    const due = await this.#d.model
      .find({ state: 'verified', expiresAt: { $lte: new Date(now) } })
      .sort({ expiresAt: 1 })
      .limit(SWEEP_BATCH)
      .lean<BackupDoc[]>();
    for (const doc of due) {
      if (!doc.runFinalAt) continue; // never before its run ended
      if (!(await this.#d.states.set(doc, 'expired', { deletedAt: new Date(now) }))) continue;
      await this.#d.storage.delete(doc.object);
      expired++;
      this.#d.states.event(doc, BusBackupState.EXPIRED);
    }
    let stalled = 0;
    const late = await this.#d.model
      .find({ state: 'uploading', createdAt: { $lte: new Date(now - this.#d.config.uploadTimeoutMs) } })
      .sort({ createdAt: 1 })
      .limit(SWEEP_BATCH)
      .lean<BackupDoc[]>();
    for (const doc of late) {
      if (await this.#d.leases.held(doc._id, now)) continue; // being verified
      await this.#d.states.fail(doc, `upload not committed within ${this.#d.config.uploadTimeoutMs} ms`);
      stalled++;
    }
    return { expired, stalled };
  }

  /**
   * Restore copies under `restore/`, which services before this one wrote for sealed
   * restores, removed once at start: restores read the backup itself now.
   */
  async dropOldRestoreCopies(): Promise<number> {
    const copies = await this.#d.storage.list('restore/');
    for (const o of copies) await this.#d.storage.delete(o.name);
    return copies.length;
  }
}
