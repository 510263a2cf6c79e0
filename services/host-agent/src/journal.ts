// An append-only record of what the agent executed (JSON lines): every step run, resume
// and finish, with its command id. Operators read it to see what a host really did; the
// fault tests read it to prove that no step ran twice.
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Counter, type Registry } from '@yixing/common';

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
  #dirMade = false;

  constructor(file: string) {
    this.#file = file;
  }

  /** Rejects when this entry could not be written; later appends are written all the same. */
  append(entry: JournalEntry): Promise<void> {
    // One writer at a time keeps lines whole and in order; a failed write (a full disk)
    // must not fail the writes queued after it.
    const write = this.#queue.then(async () => {
      if (!this.#dirMade) {
        await mkdir(path.dirname(this.#file), { recursive: true });
        this.#dirMade = true;
      }
      await appendFile(this.#file, `${JSON.stringify(entry)}\n`);
    });
    this.#queue = write.catch(() => undefined);
    return write;
  }
}

export const noJournal: Journal = { append: async () => undefined };

/** Journal appends that failed: the agent went on without the record. */
export function journalFailureCounter(registry: Registry): Counter {
  return new Counter({
    name: 'yx_agent_journal_write_failures_total',
    help: 'Journal appends that failed (the step went on without its journal record)',
    registers: [registry],
  });
}
