// An append-only record of what the agent executed (JSON lines): every step run, resume
// and finish, with its command id. Operators read it to see what a host really did; the
// fault tests read it to prove that no step ran twice.
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

export interface JournalEntry {
  at: number;
  hostId: string;
  runId: string;
  commandId: string;
  step: string;
  attempt: number;
  event: 'run' | 'resume' | 'finish' | 'duplicate';
  ok?: boolean;
}

export interface Journal {
  append(entry: JournalEntry): Promise<void>;
}

export class FileJournal implements Journal {
  readonly #file: string;
  #queue: Promise<void> = Promise.resolve();
  #ready: Promise<unknown>;

  constructor(file: string) {
    this.#file = file;
    this.#ready = mkdir(path.dirname(file), { recursive: true });
  }

  append(entry: JournalEntry): Promise<void> {
    // One writer at a time keeps lines whole and in order.
    this.#queue = this.#queue.then(async () => {
      await this.#ready;
      await appendFile(this.#file, `${JSON.stringify(entry)}\n`);
    });
    return this.#queue;
  }
}

export const noJournal: Journal = { append: async () => undefined };
