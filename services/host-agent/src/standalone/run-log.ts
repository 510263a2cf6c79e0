// The standalone run's log file: lines appended in the order they came, many to a write.
// A migration logs every line apt, dpkg or dnf prints (thousands); one append per line
// opened, wrote and closed the file each time, a good part of the agent's own CPU, and
// appends started together could land out of order. Hand-written: a dozen lines, where
// sonic-boom (pino's) would add a dependency to the agent for the same.
import { appendFile } from 'node:fs/promises';

export class RunLog {
  readonly #file: string;
  readonly #onError: (err: Error) => void;
  #pending: string[] = [];
  #writing: Promise<void> | undefined;

  /** `onError` is told of each failed write; the lines of that write are dropped. */
  constructor(file: string, onError: (err: Error) => void) {
    this.#file = file;
    this.#onError = onError;
  }

  /** Queues a line (its newline included); written with those queued while a write is under way. */
  write(text: string): void {
    this.#pending.push(text);
    this.#writing ??= this.#drain();
  }

  /** Resolves once every line queued so far is written (or its write failed). */
  async flushed(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const chunk = this.#pending.join('');
      this.#pending = [];
      await appendFile(this.#file, chunk).catch((err: Error) => this.#onError(err));
    }
    this.#writing = undefined;
  }
}
