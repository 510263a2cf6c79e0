// Restores read through the service in pieces at fixed offsets of the plaintext, so an
// agent can ask for several at once. Each restore being read has a session here: one
// pass over the stored object (unsealed when sealed), handing out pieces in offset order
// and checking the whole as it goes: the store's digest of the stored bytes, each sealed
// frame's authentication, and at the end the catalogue's SHA-256 of the plaintext, before
// the last piece is handed out. No copy is written and nothing is read twice. A piece
// behind the session (asked again after a lost reply) starts a new pass; pieces ahead
// (another replica served the ones between) are read past.
import { createHash, type Hash } from 'node:crypto';
import { YxError } from '@yixing/common';

/** The plaintext read does not hash to what the catalogue recorded, or is not as long. */
export class RestoreMismatchError extends YxError {
  readonly code = 'BACKUP_RESTORE_MISMATCH';
  readonly retryable = false;
}

export interface RestoreSource {
  /** The session's key: host, backup and object. */
  key: string;
  sha256: string;
  /**
   * The read itself proves the bytes hash to `sha256` (a plain backup, whose store digest,
   * checked by every read, was found to be the catalogue's): no second hash here.
   */
  digestChecked?: boolean;
  sizeBytes: number;
  /** The plaintext, from the start. */
  open(): AsyncIterable<Uint8Array>;
}

interface Session {
  it: AsyncIterator<Uint8Array>;
  /** Plaintext offset of `held`'s first byte. */
  at: number;
  held: Uint8Array;
  sha: Hash;
  queue: Promise<unknown>;
  usedAt: number;
}

/** The cursor an agent sends: '' or a decimal byte offset; undefined when it is neither. */
export function parseOffset(cursor: string): number | undefined {
  if (cursor === '') return 0;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(cursor)) return undefined;
  const n = Number(cursor);
  return Number.isSafeInteger(n) ? n : undefined;
}

export class RestoreReads {
  readonly #sessions = new Map<string, Session>();
  readonly #pieceBytes: number;
  readonly #idleMs: number;
  readonly #clock: () => number;

  constructor(opts: { pieceBytes: number; idleMs: number; clock: () => number }) {
    this.#pieceBytes = opts.pieceBytes;
    this.#idleMs = opts.idleMs;
    this.#clock = opts.clock;
  }

  /** Sessions open now (each holds a reader of the store). */
  get open(): number {
    return this.#sessions.size;
  }

  /**
   * The piece at `offset` (a multiple of the piece size below the plaintext's size): its
   * bytes, and the next piece's offset ('' after the last). Throws what reading throws
   * (the store's CorruptObjectError, a sealed frame's SealedStreamError) and
   * RestoreMismatchError; a failed session is closed.
   */
  piece(src: RestoreSource, offset: number): Promise<{ data: Uint8Array; next: string; last: boolean }> {
    this.#closeIdle();
    let s = this.#sessions.get(src.key);
    if (!s) {
      s = {
        it: src.open()[Symbol.asyncIterator](),
        at: 0,
        held: new Uint8Array(0),
        sha: createHash('sha256'),
        queue: Promise.resolve(),
        usedAt: 0,
      };
      this.#sessions.set(src.key, s);
    }
    const session = s;
    session.usedAt = this.#clock();
    // One piece at a time per pass; a pass closed meanwhile sends the piece to the next one.
    const served = session.queue.then(() =>
      this.#sessions.get(src.key) === session ? this.#serve(src, session, offset) : this.piece(src, offset),
    );
    session.queue = served.catch(() => undefined);
    return served;
  }

  async #serve(src: RestoreSource, session: Session, offset: number): Promise<{ data: Uint8Array; next: string; last: boolean }> {
    if (offset < session.at) {
      // Behind this pass: a new one, from the start.
      await this.#close(src.key, session);
      return this.piece(src, offset);
    }
    const size = src.sizeBytes;
    const end = Math.min(offset + this.#pieceBytes, size);
    try {
      const readPast = (): void => {
        const skip = Math.min(offset - session.at, session.held.length);
        if (skip <= 0) return;
        session.held = session.held.subarray(skip);
        session.at += skip;
      };
      readPast();
      const parts: Uint8Array[] = session.held.length ? [session.held] : [];
      let held = session.held.length;
      while (session.at + held < end) {
        const { value, done } = await session.it.next();
        if (done) break;
        if (!src.digestChecked) session.sha.update(value);
        if (session.at + held + value.length > size) throw this.#longer(src);
        if (session.at < offset) {
          // Still before the piece: only what reaches into it is kept.
          session.held = value;
          readPast();
          parts.splice(0, parts.length, ...(session.held.length ? [session.held] : []));
          held = session.held.length;
        } else {
          parts.push(value);
          held += value.length;
        }
      }
      if (session.at < offset || session.at + held < end)
        throw new RestoreMismatchError(`ends at byte ${session.at + held}, recorded as ${size} bytes long`);
      const bytes = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
      const last = end === size;
      if (last) {
        // The pass must end here, checked (the store's digest, the catalogue's SHA-256), before the last piece goes out.
        const after = await session.it.next();
        if (!after.done && after.value.length > 0) throw this.#longer(src);
        const sha = src.digestChecked ? src.sha256 : session.sha.digest('hex');
        if (sha !== src.sha256) throw new RestoreMismatchError(`reads as SHA-256 ${sha}, recorded ${src.sha256}`);
        await this.#close(src.key, session);
      }
      session.held = bytes.subarray(end - session.at);
      const data = bytes.subarray(0, end - session.at);
      session.at = end;
      return { data, next: last ? '' : String(end), last };
    } catch (err) {
      await this.#close(src.key, session);
      throw err;
    }
  }

  #longer(src: RestoreSource): RestoreMismatchError {
    return new RestoreMismatchError(`reads longer than the ${src.sizeBytes} bytes recorded`);
  }

  /**
   * Lets the pass go. Not awaited: a pass still waiting for a reader of the store lets
   * go once it has one, and the pieces queued behind it must not wait for that.
   */
  async #close(key: string, s: Session): Promise<void> {
    if (this.#sessions.get(key) === s) this.#sessions.delete(key);
    s.it.return?.()?.catch?.(() => undefined);
  }

  /** Sessions nobody asked anything of for a while let go of their readers. */
  #closeIdle(): void {
    const now = this.#clock();
    for (const [key, s] of this.#sessions)
      if (now - s.usedAt > this.#idleMs) {
        this.#sessions.delete(key);
        // A pass still serving keeps going; it ends when its queue does.
        void s.queue.then(() => s.it.return?.()).catch(() => undefined);
      }
  }

  /** Lets every reader go (the service stops). */
  async closeAll(): Promise<void> {
    for (const [key, s] of [...this.#sessions]) await this.#close(key, s);
  }
}
