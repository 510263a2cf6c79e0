// Archives in a NATS JetStream Object Store bucket: chunked, with a SHA-256 digest checked
// on every read, so a corrupted chunk fails the read.
import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { ObjectMissingError, readObject } from '@yixing/common';
import { Semaphore } from '../semaphore.ts';
import type { ArchiveStorage, StoredObject } from './archive-storage.ts';

/** An Object Store digest (`SHA-256=<base64url>`) as hex. */
const digestHex = (digest: string): string => Buffer.from(digest.replace(/^SHA-256=/i, ''), 'base64').toString('hex');

/** Objects read at once. */
const MAX_READERS = 8;

export class ObjectStoreStorage implements ArchiveStorage {
  readonly #os: ObjectStore;
  readonly #js: JetStreamClient;
  readonly bucket: string;
  readonly #readers = new Semaphore(MAX_READERS);

  constructor(os: ObjectStore, js: JetStreamClient, bucket: string) {
    this.#os = os;
    this.#js = js;
    this.bucket = bucket;
  }

  async stat(name: string): Promise<StoredObject & { sha256: string }> {
    const info = await this.#os.info(name);
    if (!info || info.deleted) throw new ObjectMissingError(`object ${name} is not in bucket ${this.bucket}`);
    return { name, size: info.size, sha256: digestHex(info.digest) };
  }

  async put(name: string, data: AsyncIterable<Uint8Array>): Promise<StoredObject & { sha256: string }> {
    const iterator = data[Symbol.asyncIterator]();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await iterator.return?.();
      },
    });
    try {
      const info = await this.#os.put({ name, options: { max_chunk_size: 256 * 1024 } }, stream);
      return { name, size: info.size, sha256: digestHex(info.digest) };
    } catch (err) {
      // The client does not cancel its source when a publish fails: close it here, so a
      // reader it holds (and that reader's slot) is let go.
      await iterator.return?.();
      throw err;
    }
  }

  /** Read with `readObject` (see there why not ObjectStore.get), a limited number at once. */
  async *get(name: string): AsyncIterable<Uint8Array> {
    // Reads beyond the limit wait: what the server sends ahead for all readers together
    // stays far below its slow-consumer limit for one connection (64 MiB by default).
    await this.#readers.acquire();
    try {
      yield* readObject(this.#js, this.#os, this.bucket, name);
    } finally {
      this.#readers.release();
    }
  }

  async delete(name: string): Promise<void> {
    await this.#os.delete(name).catch((err: Error) => {
      if (!/not found/i.test(err.message)) throw err;
    });
  }

  /**
   * Names from the stream's metadata subjects, then each match's info. Not
   * ObjectStore.list(): its watcher (an ordered push consumer with idle heartbeats)
   * outlived the listing, and once the connection closed it kept the process alive,
   * resubscribing on a closed connection every heartbeat.
   */
  async list(prefix: string): Promise<StoredObject[]> {
    const meta = `$O.${this.bucket}.M.`;
    const jsm = await this.#js.jetstreamManager();
    const info = await jsm.streams.info(`OBJ_${this.bucket}`, { subjects_filter: `${meta}>` });
    const out: StoredObject[] = [];
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const name = Buffer.from(subject.slice(meta.length), 'base64url').toString('utf8');
      if (!name.startsWith(prefix)) continue;
      const found = await this.#os.info(name);
      if (found && !found.deleted) out.push({ name, size: found.size });
    }
    return out;
  }
}
