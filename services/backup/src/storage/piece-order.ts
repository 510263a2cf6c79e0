// Pieces of an upload back in index order: a retried publish may be stored after later
// pieces, and a piece published again after the stream's duplicate window is stored twice.
import { YxError } from '@yixing/common';

/** The pieces do not make up the archive: one missing, undecodable, or more than declared. */
export class UploadPiecesError extends YxError {
  readonly code = 'UPLOAD_PIECES_INVALID';
  readonly retryable = false;
}

export class PieceOrder {
  readonly #ahead: number;
  readonly #maxBytes: number;
  readonly #early = new Map<number, Uint8Array>();
  #expected = 0;
  #bytes = 0;

  /**
   * @param ahead pieces held while waiting for a missing one; one more means it is missing
   * @param maxBytes the archive's declared size: more bytes are refused
   */
  constructor(ahead: number, maxBytes: number) {
    this.#ahead = ahead;
    this.#maxBytes = maxBytes;
  }

  /** Takes a piece as stored; returns the pieces now due, in order. */
  take(index: number, data: Uint8Array): Uint8Array[] {
    if (index < this.#expected || this.#early.has(index)) return []; // a copy of one already taken
    this.#early.set(index, data);
    if (this.#early.size > this.#ahead) throw this.#missing();
    const due: Uint8Array[] = [];
    for (let d = this.#early.get(this.#expected); d; d = this.#early.get(this.#expected)) {
      this.#early.delete(this.#expected++);
      this.#bytes += d.length;
      if (this.#bytes > this.#maxBytes) throw new UploadPiecesError(`the pieces hold more than the ${this.#maxBytes} bytes declared`);
      due.push(d);
    }
    return due;
  }

  /** All pieces were read: none may still wait for a missing one. */
  finish(): void {
    if (this.#early.size > 0) throw this.#missing();
  }

  #missing(): UploadPiecesError {
    return new UploadPiecesError(`piece ${this.#expected} is missing: the next one published is ${Math.min(...this.#early.keys())}`);
  }
}
