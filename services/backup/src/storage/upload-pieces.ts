// An upload as the agent published it: BackupChunk pieces on its own host's subject in the
// YX_UPLOADS stream (the broker lets no other host publish there). Read back in order
// through an ordered consumer (readSubject), put back in index order where a retried
// publish landed late; purged once the backup is stored or failed.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { catalog, decode, readSubject, subjectPattern } from '@yixing/common';
import { PieceOrder, UploadPiecesError } from './piece-order.ts';

export { UploadPiecesError };

export interface UploadedPieces {
  /**
   * The archive's bytes in order, at most `maxBytes` of them; UploadPiecesError when a
   * piece is missing, cannot be decoded, or the pieces hold more than `maxBytes`.
   */
  read(hostId: string, backupId: string, maxBytes: number): AsyncIterable<Uint8Array>;
  /** Drops the pieces (done with them, or never to be used). */
  discard(hostId: string, backupId: string): Promise<void>;
}

/** Pieces taken ahead of one missing (published again out of order); more is a missing piece. */
const REORDER_PIECES = 64;

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

  async *read(hostId: string, backupId: string, maxBytes: number): AsyncIterable<Uint8Array> {
    const subject = subjectPattern('backupChunk', { hostId, backupId });
    if ((await this.#count(subject)) === 0) return;
    const order = new PieceOrder(REORDER_PIECES, maxBytes);
    for await (const m of readSubject(this.#js, this.#stream, subject, `upload ${backupId} of ${hostId}`)) {
      let piece: { index: number; data: Uint8Array };
      try {
        piece = decode('backupChunk', m.data, m.subject);
      } catch (err) {
        throw new UploadPiecesError(`piece at stream sequence ${m.seq} cannot be read: ${(err as Error).message}`, { cause: err });
      }
      yield* order.take(piece.index, piece.data);
    }
    order.finish();
  }

  async discard(hostId: string, backupId: string): Promise<void> {
    await this.#jsm.streams.purge(this.#stream, { filter: subjectPattern('backupChunk', { hostId, backupId }) });
  }
}
