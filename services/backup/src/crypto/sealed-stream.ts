// Encryption at rest: AES-256-GCM over 1 MiB frames, each with its own nonce (a random
// prefix and the frame number) and the frame number and a last-frame flag as associated
// data, so reordered, dropped, truncated or altered frames all fail authentication. The
// AES work runs in worker threads (frame-cipher.ts), a few frames of a stream at once.
//
// Layout: "YXB1" | keyIdLength (1) | keyId | noncePrefix (8) | frames...
// frame: length of ciphertext (4, big endian) | ciphertext | tag (16)
import { createHash, randomBytes } from 'node:crypto';
import { YxError } from '@yixing/common';
import { cipherFrame, type FrameReply } from './frame-cipher.ts';

const MAGIC = Buffer.from('YXB1');
export const FRAME = 1024 * 1024;
/** Frames of one stream in the workers at once. */
const FRAMES_IN_FLIGHT = 4;

export interface SealingKey {
  id: string;
  key: Buffer;
}

export class SealedStreamError extends YxError {
  readonly code = 'BACKUP_DECRYPT_FAILED';
  readonly retryable = false;
}

/** A key from 32 raw bytes, 64 hex characters or base64; its id is derived unless given. */
export function parseKey(material: string | Buffer, id?: string): SealingKey {
  let key: Buffer;
  if (Buffer.isBuffer(material) && material.length === 32) key = material;
  else {
    const text = material.toString().trim();
    key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  }
  if (key.length !== 32) throw new Error(`an AES-256 key is 32 bytes; this one is ${key.length}`);
  return { id: id ?? `k-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`, key };
}

function nonce(prefix: Buffer, n: number): Buffer {
  const b = Buffer.alloc(12);
  prefix.copy(b, 0, 0, 8);
  b.writeUInt32BE(n, 8);
  return b;
}

function aad(n: number, last: boolean): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(n, 0);
  b[4] = last ? 1 : 0;
  return b;
}

/** Bytes taken in as they come and handed out in exact lengths, each copied once. */
class ByteQueue {
  #chunks: Uint8Array[] = [];
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `n` bytes (n <= length), removed. */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0] as Uint8Array;
      const part = Math.min(c.length, n - at);
      out.set(part === c.length ? c : c.subarray(0, part), at);
      at += part;
      if (part === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(part);
    }
    this.length -= n;
    return out;
  }
}

/** Re-chunks a byte stream into frames of exactly FRAME bytes (the last one shorter). */
async function* frames(source: AsyncIterable<Uint8Array>): AsyncIterable<{ data: Buffer; last: boolean }> {
  const q = new ByteQueue();
  let pending: Buffer | undefined;
  for await (const chunk of source) {
    q.push(chunk);
    while (q.length >= FRAME) {
      if (pending) yield { data: pending, last: false };
      pending = q.take(FRAME);
    }
  }
  if (q.length > 0) {
    if (pending) yield { data: pending, last: false };
    yield { data: q.take(q.length), last: true };
  } else if (pending) yield { data: pending, last: true };
  else yield { data: Buffer.alloc(0), last: true };
}

export async function* seal(source: AsyncIterable<Uint8Array>, k: SealingKey): AsyncIterable<Uint8Array> {
  const prefix = randomBytes(8);
  const id = Buffer.from(k.id);
  const key = new Uint8Array(k.key); // its own 32 bytes: sent with every frame, not the pool it may share
  yield Buffer.concat([MAGIC, Buffer.from([id.length]), id, prefix]);
  const inFlight: Promise<FrameReply>[] = [];
  const sealed = async (reply: Promise<FrameReply>): Promise<Uint8Array[]> => {
    const r = await reply;
    if (!r.ok) throw new SealedStreamError('a frame could not be sealed');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(r.data.length);
    // Three pieces, not one copied together: the store re-chunks anyway.
    return [len, r.data, r.tag];
  };
  let n = 0;
  try {
    for await (const f of frames(source)) {
      const reply = cipherFrame({ op: 'seal', key, iv: nonce(prefix, n), aad: aad(n, f.last), data: f.data });
      reply.catch(() => undefined); // taken in order below; a failure must not go unhandled meanwhile
      inFlight.push(reply);
      n++;
      if (inFlight.length >= FRAMES_IN_FLIGHT) yield* await sealed(inFlight.shift() as Promise<FrameReply>);
    }
    while (inFlight.length > 0) yield* await sealed(inFlight.shift() as Promise<FrameReply>);
  } finally {
    await Promise.allSettled(inFlight);
  }
}

/** The key id a sealed stream says it was sealed with (from its first bytes). */
export function sealedKeyId(head: Buffer): string | undefined {
  if (head.length < 5 || !head.subarray(0, 4).equals(MAGIC)) return undefined;
  return head.subarray(5, 5 + (head[4] as number)).toString();
}

export async function* unseal(source: AsyncIterable<Uint8Array>, keys: (id: string) => SealingKey | undefined): AsyncIterable<Uint8Array> {
  const q = new ByteQueue();
  const it = source[Symbol.asyncIterator]();
  const need = async (n: number): Promise<boolean> => {
    while (q.length < n) {
      const { value, done } = await it.next();
      if (done) return false;
      q.push(value);
    }
    return true;
  };
  if (!(await need(5))) throw new SealedStreamError('not a sealed Yixing backup');
  const magic = q.take(5);
  if (!magic.subarray(0, 4).equals(MAGIC)) throw new SealedStreamError('not a sealed Yixing backup');
  const idLen = magic[4] as number;
  if (!(await need(idLen + 8))) throw new SealedStreamError('sealed header truncated');
  const id = q.take(idLen).toString();
  const k = keys(id);
  if (!k) throw new SealedStreamError(`backup sealed with key ${id}, which this service does not have`);
  const prefix = q.take(8);
  const key = new Uint8Array(k.key);
  const inFlight: { n: number; reply: Promise<FrameReply> }[] = [];
  // Plaintext goes out only once its frame has authenticated.
  const opened = async ({ n, reply }: (typeof inFlight)[number]): Promise<Uint8Array> => {
    const r = await reply;
    if (!r.ok) throw new SealedStreamError(`frame ${n} fails authentication: the backup was altered or truncated`);
    return r.data;
  };
  let n = 0;
  let sawLast = false;
  try {
    while (await need(4)) {
      if (sawLast) throw new SealedStreamError('data after the last frame');
      const len = q.take(4).readUInt32BE(0);
      if (len > FRAME || !(await need(len + 16))) throw new SealedStreamError(`frame ${n} truncated`);
      const ct = q.take(len);
      const tag = new Uint8Array(q.take(16)); // its own 16 bytes, not the pool they were cut from
      // Whether this is the last frame is only known once the stream ends after it.
      const last = !(await need(1));
      const reply = cipherFrame({ op: 'open', key, iv: nonce(prefix, n), aad: aad(n, last), data: ct, tag });
      reply.catch(() => undefined); // taken in order below; a failure must not go unhandled meanwhile
      inFlight.push({ n, reply });
      if (inFlight.length >= FRAMES_IN_FLIGHT) yield await opened(inFlight.shift() as (typeof inFlight)[number]);
      sawLast = last;
      n++;
    }
    while (inFlight.length > 0) yield await opened(inFlight.shift() as (typeof inFlight)[number]);
  } finally {
    await Promise.allSettled(inFlight.map((f) => f.reply));
  }
  if (!sawLast) throw new SealedStreamError('the backup ends without its last frame');
}
