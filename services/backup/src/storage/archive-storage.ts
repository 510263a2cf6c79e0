// Where archives live. The JetStream Object Store is the default; an S3-compatible store
// or a filesystem can implement the same interface.
export interface StoredObject {
  name: string;
  size: number;
}

export interface ArchiveStorage {
  /** Writes the whole object (replacing one of the same name); `sha256` of the bytes as they were sent. */
  put(name: string, data: AsyncIterable<Uint8Array>): Promise<StoredObject & { sha256: string }>;
  /** Reads the object; ObjectMissingError, or CorruptObjectError from the iterator when it is not intact. */
  get(name: string): AsyncIterable<Uint8Array>;
  /**
   * What the store records for the object: its size and the SHA-256 of its bytes, which
   * every later read is checked against. ObjectMissingError when it is not there.
   */
  stat(name: string): Promise<StoredObject & { sha256: string }>;
  delete(name: string): Promise<void>;
  list(prefix: string): Promise<StoredObject[]>;
}
