// An upload as the agent published it: BackupChunk pieces on its own host's subject in the
// YX_UPLOADS stream (the broker lets no other host publish there). Read in order through
// an ordered consumer while the agent is still publishing (verification runs alongside
// the upload, not after it), put back in index order where a retried publish landed late;
// purged once the backup is stored or failed.
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { catalog, decode, ObjectReadStalledError, subjectPattern } from '@yixing/common';
import { PieceOrder, UploadPiecesError } from './piece-order.ts';

export { UploadPiecesError };

export interface UploadedPieces {
  /**
   * The archive's bytes in order, until `maxBytes` of them (the declared size) have come;
   * UploadPiecesError when a piece is missing, cannot be decoded, or the pieces hold more
   * than `maxBytes`. Until `published` settles the agent may still be publishing, and the
   * read waits for more; after, it ends with what the stream holds (ObjectReadStalledError
   * when no piece comes for a long while before either).
   */
  read(hostId: string, backupId: string, maxBytes: number, published?: Promise<void>): AsyncIterable<Uint8Array>;
  /** Drops the pieces (done with them, or never to be used). */
  discard(hostId: string, backupId: string): Promise<void>;
}

/** Pieces taken ahead of one missing (published again out of order); more is a missing piece. */
const REORDER_PIECES = 64;
/** Pieces the server sends ahead of what was consumed: 4 MiB a verification, as many run at once. */
const AHEAD_PIECES = 16;
/** No piece for this long while the agent may still publish: the read is given up. */
const STALL_MS = 60_000;

export class JetStreamUploads implements UploadedPieces {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream = catalog.backupChunk.stream;

  constructor(js: JetStreamClient, jsm: JetStreamManager) {
    this.#js = js;
    this.#jsm = jsm;
  }

  /** How many pieces the stream holds for the upload (its leader answers). */
  async #count(subject: string): Promise<number> {
    const info = await this.#jsm.streams.info(this.#stream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  async *read(hostId: string, backupId: string, maxBytes: number, published: Promise<void> = Promise.resolve()): AsyncIterable<Uint8Array> {
    const subject = subjectPattern('backupChunk', { hostId, backupId });
    const what = `upload ${backupId} of ${hostId}`;
    // Pieces the stream holds once the agent has published them all; read that many, the read is complete.
    let target: number | undefined;
    let received = 0;
    const consumer = await this.#js.consumers.get(this.#stream, { filter_subjects: [subject] });
    const messages = await consumer.consume({ max_messages: AHEAD_PIECES });
    let watchdog: NodeJS.Timeout | undefined;
    let stalled = false;
    const stop = (): void => void messages.close().catch(() => undefined); // ends the loop below
    const watch = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        stop();
      }, STALL_MS);
    };
    const counted = published.then(async () => {
      target = await this.#count(subject);
      if (received >= target) stop();
    });
    counted.catch(stop); // the count not known: the read ends unfinished (below)
    const order = new PieceOrder(REORDER_PIECES, maxBytes);
    let bytes = 0;
    try {
      watch();
      for await (const m of messages) {
        clearTimeout(watchdog); // only waiting for pieces counts, not our reader
        received++;
        for (const d of order.take(...piece(m))) {
          bytes += d.length;
          yield d;
        }
        if (bytes === maxBytes) return; // the whole archive, as declared
        if (target !== undefined && received >= target) break;
        watch();
      }
    } finally {
      clearTimeout(watchdog);
      stop();
    }
    await counted.catch(() => undefined);
    if (stalled || target === undefined || received < target)
      throw new ObjectReadStalledError(
        `${what}: ${stalled ? `no piece for ${STALL_MS / 1000} s` : 'the read ended before the last piece'}`,
      );
    order.finish();
  }

  async discard(hostId: string, backupId: string): Promise<void> {
    await this.#jsm.streams.purge(this.#stream, { filter: subjectPattern('backupChunk', { hostId, backupId }) });
  }
}

/** A stored piece's index and bytes; UploadPiecesError when it cannot be decoded. */
function piece(m: JsMsg): [number, Uint8Array] {
  try {
    const p = decode('backupChunk', m.data, m.subject);
    return [p.index, p.data];
  } catch (err) {
    throw new UploadPiecesError(`piece at stream sequence ${m.seq} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}
