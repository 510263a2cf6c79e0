// Where archives live. The JetStream Object Store is the default; an S3-compatible store
// or a filesystem can implement the same interface.
export interface StoredObject {
  name: string;
  size: number;
}

export interface ArchiveStorage {
  /** Writes the whole object (replacing one of the same name). */
  put(name: string, data: AsyncIterable<Uint8Array>): Promise<StoredObject>;
  /** Reads the object; ObjectMissingError, or CorruptObjectError from the iterator when it is not intact. */
  get(name: string): AsyncIterable<Uint8Array>;
  /**
   * A piece of the object from `cursor` ('' for the first), at most `maxBytes` unless one
   * chunk is larger, and where the next starts ('' after the last): how an agent reads
   * its restore copy through the service. ObjectMissingError when the object is gone,
   * CorruptObjectError when it ends early.
   */
  readPiece(name: string, cursor: string, maxBytes: number): Promise<{ data: Uint8Array; next: string }>;
  delete(name: string): Promise<void>;
  list(prefix: string): Promise<StoredObject[]>;
}
