// AES-256-GCM on sealed frames off the event loop: a few worker threads seal and open
// frames while the service's thread goes on reading, hashing and writing (a 1 MiB frame
// is about a millisecond of AES that nothing else would run during). A frame's bytes are
// transferred to the worker and back, not copied. Several frames of one stream may be in
// the workers at once; callers take the results in order.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { YxError } from '@yixing/common';

/** The workers could not do the work (one died): not the data's fault; trying again may work. */
export class FrameCipherUnavailableError extends YxError {
  readonly code = 'BACKUP_CIPHER_UNAVAILABLE';
  readonly retryable = true;
}

export interface FrameJob {
  id: number;
  op: 'seal' | 'open';
  key: Uint8Array;
  iv: Uint8Array;
  aad: Uint8Array;
  data: Uint8Array;
  /** For `open`: the tag the frame must authenticate with. */
  tag?: Uint8Array;
}

/** The frame sealed (with its tag) or opened; `ok: false` when it fails authentication. */
export type FrameReply = { id: number; ok: true; data: Uint8Array; tag: Uint8Array } | { id: number; ok: false };

/** Worker threads: as many as cores, a few at most (more would only wait for a core). */
const WORKERS = Math.max(1, Math.min(4, availableParallelism()));

interface Pending {
  resolve(reply: FrameReply): void;
  reject(err: Error): void;
}

class FrameWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  dead = false;

  constructor() {
    this.#worker = new Worker(new URL('./frame-cipher.worker.ts', import.meta.url));
    this.#worker.unref(); // an idle pool keeps no process alive
    this.#worker.on('message', (reply: FrameReply) => {
      const p = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      p?.resolve(reply);
    });
    const die = (why: string) => {
      this.dead = true;
      for (const p of this.#pending.values()) p.reject(new FrameCipherUnavailableError(`frame cipher worker ${why}`));
      this.#pending.clear();
    };
    this.#worker.on('error', (err) => die(`failed: ${err.message}`));
    this.#worker.on('exit', (code) => die(`exited with code ${code}`));
  }

  get load(): number {
    return this.#pending.size;
  }

  run(job: FrameJob): Promise<FrameReply> {
    return new Promise((resolve, reject) => {
      this.#pending.set(job.id, { resolve, reject });
      this.#worker.ref(); // work in the worker keeps the process alive until it is back
      const data = job.data;
      this.#worker.postMessage(
        job,
        data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? [data.buffer as ArrayBuffer] : [],
      );
    });
  }
}

const workers: FrameWorker[] = [];
let nextId = 0;

/**
 * Seals or opens one frame in a worker thread (the least busy one). `job.data` is handed
 * over: when it is a whole buffer it is moved to the worker and unusable here after.
 */
export function cipherFrame(job: Omit<FrameJob, 'id'>): Promise<FrameReply> {
  for (let i = workers.length - 1; i >= 0; i--) if (workers[i]?.dead) workers.splice(i, 1);
  while (workers.length < WORKERS) workers.push(new FrameWorker());
  const worker = workers.reduce((a, b) => (b.load < a.load ? b : a));
  nextId = (nextId + 1) % Number.MAX_SAFE_INTEGER;
  return worker.run({ ...job, id: nextId });
}
