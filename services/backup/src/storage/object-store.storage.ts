// Archives in a NATS JetStream Object Store bucket: chunked, with a SHA-256 digest checked
// on every read, so a corrupted chunk fails the read.
import type { JetStreamClient, JetStreamManager, MsgRequest, StoredMsg } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { CorruptObjectError, ObjectMissingError, readObject } from '@yixing/common';
import { Semaphore } from '../semaphore.ts';
import type { ArchiveStorage, StoredObject } from './archive-storage.ts';

/** The first message on `subject` after stream sequence `afterSeq`, or null; answered by the stream's leader. */
function nextOnSubject(jsm: JetStreamManager, stream: string, subject: string, afterSeq: number): Promise<StoredMsg | null> {
  // The server takes next_by_subj on STREAM.MSG.GET too; the client types it only for direct gets,
  // which a follower may answer before it has every acknowledged message.
  return jsm.streams.getMessage(stream, { seq: afterSeq + 1, next_by_subj: subject } as unknown as MsgRequest);
}

/** How long an object being read piece by piece is taken to be as it was. */
const READING_MS = 30_000;

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

  #jsm: Promise<JetStreamManager> | undefined;
  /** Objects being read piece by piece: their chunks' nuid and size, for a little while. */
  readonly #reading = new Map<string, { nuid: string; size: number; at: number }>();

  /** The object's nuid and size: asked once per `READING_MS`, not once per piece. */
  async #readingInfo(name: string): Promise<{ nuid: string; size: number }> {
    const now = Date.now();
    const known = this.#reading.get(name);
    if (known && now - known.at < READING_MS) return known;
    const info = await this.#os.info(name);
    if (!info || info.deleted) throw new ObjectMissingError(`object ${name} is not in bucket ${this.bucket}`);
    for (const [n, r] of this.#reading) if (now - r.at >= READING_MS) this.#reading.delete(n);
    const read = { nuid: info.nuid, size: info.size, at: now };
    this.#reading.set(name, read);
    return read;
  }

  /**
   * Pieces are the object's chunks, as many as fit in `maxBytes` (at least one). The
   * cursor is `<nuid>:<stream seq>:<offset>`; it comes back from an agent, so its nuid
   * must be the named object's own (another would read another object's chunks), and its
   * position only moves within them. A replaced object's old chunks are gone: its read
   * then ends early (CorruptObjectError), and the agent's checksum refuses it anyway.
   */
  async readPiece(name: string, cursor: string, maxBytes: number): Promise<{ data: Uint8Array; next: string }> {
    const info = await this.#readingInfo(name);
    const [nuid, seqText, offsetText] = cursor ? cursor.split(':') : [info.nuid, '0', '0'];
    let seq = Number(seqText);
    let offset = Number(offsetText);
    if (nuid !== info.nuid || !Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(offset) || offset < 0)
      throw new ObjectMissingError(`cursor ${JSON.stringify(cursor)} is not a place in object ${name} as it is now`);
    this.#jsm ??= this.#js.jetstreamManager();
    const jsm = await this.#jsm;
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    while (offset < info.size) {
      const m = await nextOnSubject(jsm, `OBJ_${this.bucket}`, `$O.${this.bucket}.C.${nuid}`, seq);
      if (!m) throw new CorruptObjectError(`object ${name} in bucket ${this.bucket} ends at byte ${offset} of ${info.size}`);
      chunks.push(m.data);
      bytes += m.data.length;
      seq = m.seq;
      offset += m.data.length;
      if (bytes + m.data.length > maxBytes) break; // the next chunk, as large, would not fit
    }
    return {
      data: chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks),
      next: offset >= info.size ? '' : `${nuid}:${seq}:${offset}`,
    };
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
    try {
      const info = await this.#os.put({ name, options: { max_chunk_size: 256 * 1024 } }, stream);
      return { name, size: info.size };
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

  async list(prefix: string): Promise<StoredObject[]> {
    const all = await this.#os.list();
    return all.filter((o) => !o.deleted && o.name.startsWith(prefix)).map((o) => ({ name: o.name, size: o.size }));
  }
}
