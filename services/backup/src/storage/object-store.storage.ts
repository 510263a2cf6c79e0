// Archives in a NATS JetStream Object Store bucket: chunked, with a SHA-256 digest the
// client checks on every read, so a corrupted chunk fails the read.
import type { ObjectStore } from '@nats-io/obj';
import { type ArchiveStorage, ObjectMissingError, type StoredObject } from './archive-storage.ts';

export class ObjectStoreStorage implements ArchiveStorage {
  readonly #os: ObjectStore;
  readonly bucket: string;

  constructor(os: ObjectStore, bucket: string) {
    this.#os = os;
    this.bucket = bucket;
  }

  async put(name: string, data: AsyncIterable<Uint8Array>): Promise<StoredObject> {
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
    const info = await this.#os.put({ name, options: { max_chunk_size: 256 * 1024 } }, stream);
    return { name, size: info.size };
  }

  async *get(name: string): AsyncIterable<Uint8Array> {
    const r = await this.#os.get(name);
    if (!r) throw new ObjectMissingError(`object ${name} is not in bucket ${this.bucket}`);
    const reader = r.data.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield value;
    }
    const err = await r.error;
    if (err) throw err;
  }

  async delete(name: string): Promise<void> {
    await this.#os.delete(name).catch((err: Error) => {
      if (!/not found/i.test(err.message)) throw err;
    });
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const all = await this.#os.list();
    return all.filter((o) => !o.deleted && o.name.startsWith(prefix)).map((o) => ({ name: o.name, size: o.size }));
  }
}
