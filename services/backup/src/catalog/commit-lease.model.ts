// One commit at a time per backup. An insert keyed by the backup id is the lock: a unique
// `_id` is a compare-and-swap on MongoDB and on FerretDB v1 alike, where a conditional
// update is not (two concurrent findAndModify with the same filter can both succeed).
import { isDuplicateKey } from '@yixing/common';
import { type Connection, type Model, Schema } from 'mongoose';

interface CommitLeaseDoc {
  _id: string;
  until: Date;
}

const schema = new Schema<CommitLeaseDoc>(
  { _id: String, until: { type: Date, required: true } },
  { collection: 'backup_commit_leases', versionKey: false },
);

export class CommitLeases {
  readonly #model: Model<CommitLeaseDoc>;

  constructor(conn: Connection) {
    this.#model = conn.models.BackupCommitLease ?? conn.model<CommitLeaseDoc>('BackupCommitLease', schema);
  }

  /** Takes the backup's lease until `until`; false while another holder's lease runs. */
  async take(id: string, now: number, until: number): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.#model.create({ _id: id, until: new Date(until) });
        return true;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      // Held: only an expired lease (its holder died) may be taken over.
      const expired = await this.#model.deleteOne({ _id: id, until: { $lte: new Date(now) } });
      if (expired.deletedCount !== 1) return false;
    }
    return false;
  }

  /** Extends a lease its holder still works under. */
  async renew(id: string, until: number): Promise<void> {
    await this.#model.updateOne({ _id: id }, { $set: { until: new Date(until) } });
  }

  async release(id: string): Promise<void> {
    await this.#model.deleteOne({ _id: id });
  }

  async held(id: string, now: number): Promise<boolean> {
    return (await this.#model.exists({ _id: id, until: { $gt: new Date(now) } })) !== null;
  }
}
