// The backup catalog: one document per backup, moved through its states with conditional
// writes (state + version). Few writes per backup, so plain updates are fine here.
import { type Connection, type Model, Schema } from 'mongoose';

export type BackupState = 'uploading' | 'verified' | 'failed' | 'deleted' | 'expired';

export interface BackupDoc {
  _id: string;
  hostId: string;
  runId: string;
  planId: string;
  paths: string[];
  /** Declared by the agent before the upload, checked at verification. */
  sha256: string;
  manifestSha256: string;
  sizeBytes: number;
  /** What the storage holds (larger when sealed). */
  storedBytes: number;
  /** Where the store holds it (written by this service; agents' pieces arrive on the bus). */
  object: string;
  state: BackupState;
  reason: string;
  keyId: string | null;
  /** The package manifest in the archive, one `name version arch[ held]` per package. */
  packages: string[];
  packageCount: number;
  /** The release the host ran when it was backed up (`id versionId`). */
  osRelease: string;
  createdAt: Date;
  verifiedAt: Date | null;
  /** When the host-run ended; retention counts from it. */
  runFinalAt: Date | null;
  expiresAt: Date | null;
  deletedAt: Date | null;
  version: number;
}

const schema = new Schema<BackupDoc>(
  {
    _id: String,
    hostId: { type: String, required: true },
    runId: { type: String, required: true },
    planId: { type: String, default: '' },
    paths: { type: [String], default: [] },
    sha256: { type: String, required: true },
    manifestSha256: { type: String, default: '' },
    sizeBytes: { type: Number, default: 0 },
    storedBytes: { type: Number, default: 0 },
    object: String,
    state: { type: String, required: true },
    reason: { type: String, default: '' },
    keyId: { type: String, default: null },
    packages: { type: [String], default: [] },
    packageCount: { type: Number, default: 0 },
    osRelease: { type: String, default: '' },
    createdAt: Date,
    verifiedAt: { type: Date, default: null },
    runFinalAt: { type: Date, default: null },
    expiresAt: { type: Date, default: null },
    deletedAt: { type: Date, default: null },
    version: { type: Number, default: 0 },
  },
  { collection: 'backups', versionKey: false, minimize: false },
);
schema.index({ hostId: 1 });
schema.index({ runId: 1 });
schema.index({ planId: 1 });
schema.index({ state: 1 });
// The sweep's queries: what is due, by state and time, read in that order.
schema.index({ state: 1, expiresAt: 1 });
schema.index({ state: 1, createdAt: 1 });

export function backupModel(conn: Connection): Model<BackupDoc> {
  return conn.model<BackupDoc>('Backup', schema);
}
