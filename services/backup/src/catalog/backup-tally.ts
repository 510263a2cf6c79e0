// What the catalogue adds up to, kept as it changes instead of read on every scrape or
// slot request: bytes held by verified backups (the stored-bytes gauge) and bytes each
// plan's live backups take (its quota). Loaded once from the catalogue when the service
// starts (summed by the database, one document per plan comes back), then moved by
// every state change this service makes, by the difference between what the backup
// counted for before and after. A restart loads it afresh, so nothing carries over.
// One writer is assumed (the deployment runs one backup service): a second replica's
// changes reach this tally only when it next starts.
import type { Model } from 'mongoose';
import type { BackupDoc } from './backup.model.ts';

export interface Counts {
  /** Bytes in the store that the stored-bytes gauge counts. */
  stored: number;
  /** Bytes charged to the backup's plan. */
  planLive: number;
}

type Counted = Pick<BackupDoc, 'state' | 'storedBytes' | 'sizeBytes'>;

/**
 * What one backup counts for (pure): a verified one its stored bytes, in the gauge and in
 * its plan; an upload its declared size, in its plan (the slot reserved it); anything
 * else nothing.
 */
export function countsOf(d: Counted | undefined): Counts {
  if (d?.state === 'verified') return { stored: d.storedBytes, planLive: d.storedBytes };
  if (d?.state === 'uploading') return { stored: 0, planLive: d.sizeBytes };
  return { stored: 0, planLive: 0 };
}

export class BackupTally {
  #stored = 0;
  readonly #plans = new Map<string, number>();

  /** Bytes held by verified backups. */
  get storedBytes(): number {
    return this.#stored;
  }

  /** Bytes the plan's live backups take (uploads by their declared size). */
  planBytes(planId: string): number {
    return this.#plans.get(planId) ?? 0;
  }

  /**
   * Sums the catalogue: the database adds up the bytes per plan, verified by stored size
   * and uploading by declared size (as `countsOf`), and only those sums come back.
   */
  async load(model: Model<BackupDoc>): Promise<void> {
    const sums = (state: 'verified' | 'uploading', field: 'storedBytes' | 'sizeBytes') =>
      model.aggregate<{ _id: string | null; bytes: number }>([
        { $match: { state } },
        { $group: { _id: '$planId', bytes: { $sum: `$${field}` } } },
      ]);
    const [verified, uploading] = await Promise.all([sums('verified', 'storedBytes'), sums('uploading', 'sizeBytes')]);
    this.#stored = 0;
    this.#plans.clear();
    for (const g of verified) {
      this.#stored += g.bytes;
      this.#addPlan(g._id ?? '', g.bytes);
    }
    for (const g of uploading) this.#addPlan(g._id ?? '', g.bytes);
  }

  /** A backup moved from `before` (undefined: new) to `after` (as written). */
  changed(before: (Counted & Pick<BackupDoc, 'planId'>) | undefined, after: Counted & Pick<BackupDoc, 'planId'>): void {
    const was = countsOf(before);
    const is = countsOf(after);
    this.#stored += is.stored - was.stored;
    this.#addPlan(after.planId, is.planLive - was.planLive);
  }

  #addPlan(planId: string, bytes: number): void {
    if (bytes === 0) return;
    const n = (this.#plans.get(planId) ?? 0) + bytes;
    if (n === 0) this.#plans.delete(planId);
    else this.#plans.set(planId, n);
  }
}
