// Archives in a NATS JetStream Object Store bucket: chunked, with a SHA-256 digest checked
// on every read, so a corrupted chunk fails the read.
import { createHash, randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { headers } from '@nats-io/transport-node';
import { ObjectMissingError, readObject } from '@yixing/common';
import { Semaphore } from '../semaphore.ts';
import type { ArchiveStorage, StoredObject } from './archive-storage.ts';
import { exactChunks } from './exact-chunks.ts';

/** An Object Store digest (`SHA-256=<base64url>`) as hex. */
const digestHex = (digest: string): string => Buffer.from(digest.replace(/^SHA-256=/i, ''), 'base64').toString('hex');

/** Objects read at once. */
const MAX_READERS = 8;
/** An object's chunks, as `ObjectStore.put` would cut them with the same option. */
const CHUNK_BYTES = 256 * 1024;
/** Chunks of one object awaiting the stream's acknowledgement at once. */
const CHUNKS_IN_FLIGHT = 8;
/** One chunk's publish may wait this long for its acknowledgement (many objects are written at once). */
const PUBLISH_TIMEOUT_MS = 60_000;

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

  /**
   * Written as `ObjectStore.put` writes an object (its chunks on a new chunk subject, then
   * its info with the digest on the name's metadata subject, which rolls up the one it
   * replaces; the replaced chunks purged), so the library and `readObject` read it alike.
   * Not `ObjectStore.put` itself: that copies every byte into its own buffer to cut chunks
   * and waits for each chunk's acknowledgement before it sends the next, so one write is
   * bounded by round trips to the server, not by bandwidth. Here a source already cut in
   * chunks of the chunk size passes through uncopied, and several chunks are awaiting
   * their acknowledgement at once. One connection publishes in order and a publish is not
   * retried, so the stream holds the chunks in the order they were hashed.
   */
  async put(name: string, data: AsyncIterable<Uint8Array>): Promise<StoredObject & { sha256: string }> {
    const replaced = await this.#os.info(name);
    const chunkSubject = `$O.${this.bucket}.C.${randomBytes(16).toString('hex')}`;
    const sha = createHash('sha256');
    let size = 0;
    let chunks = 0;
    const inFlight: Promise<unknown>[] = [];
    try {
      for await (const chunk of exactChunks(data, CHUNK_BYTES)) {
        sha.update(chunk);
        size += chunk.length;
        chunks++;
        const acked = this.#js.publish(chunkSubject, chunk, { timeout: PUBLISH_TIMEOUT_MS });
        acked.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
        inFlight.push(acked);
        if (inFlight.length >= CHUNKS_IN_FLIGHT) await inFlight.shift();
      }
      await Promise.all(inFlight);
      const digest = sha.digest();
      const info = {
        name,
        description: '',
        options: { max_chunk_size: CHUNK_BYTES },
        bucket: this.bucket,
        nuid: chunkSubject.slice(chunkSubject.lastIndexOf('.') + 1),
        size,
        chunks,
        mtime: new Date().toISOString(),
        // The library's digest: SHA-256 in padded URL-safe base64.
        digest: `SHA-256=${digest.toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`,
        deleted: false,
      };
      const rollup = headers();
      rollup.set('Nats-Rollup', 'sub');
      await this.#js.publish(this.#metaSubject(name), JSON.stringify(info), { headers: rollup, timeout: PUBLISH_TIMEOUT_MS });
      if (replaced) await this.#purge(`$O.${this.bucket}.C.${replaced.nuid}`).catch(() => undefined); // the new one is in place
      return { name, size, sha256: digest.toString('hex') };
    } catch (err) {
      await Promise.allSettled(inFlight);
      // No object names these chunks: none is left behind (the sweep would not see them).
      await this.#purge(chunkSubject).catch(() => undefined);
      throw err;
    }
  }

  #metaSubject(name: string): string {
    return `$O.${this.bucket}.M.${Buffer.from(name).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
  }

  async #purge(subject: string): Promise<void> {
    const jsm = await this.#js.jetstreamManager();
    await jsm.streams.purge(`OBJ_${this.bucket}`, { filter: subject });
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
