// GET /v1/plans/<id>/events: a plan's progress as server-sent events, within bounds. The
// number of open streams is capped (the next one is a 429 with Retry-After), and a client
// that does not read is never buffered for: while its socket is full, events are dropped
// and a fresh `plan` snapshot is sent once it drains; one stalled too long is closed.
import { YxError } from '@yixing/common';
import type { FastifyReply } from 'fastify';
import type { HostRunDoc } from '../db/models.ts';
import type { Engine } from '../reconcile/engine.ts';
import { type PlanView, planView } from './views.ts';

export class TooManyStreamsError extends YxError {
  readonly code = 'TOO_MANY_EVENT_STREAMS';
  readonly retryable = true;
  override readonly httpStatus = 429;
  override readonly retryAfterSeconds = 5;
}

/** Open event streams served at once unless configured (YX_API_MAX_EVENT_STREAMS). */
export const DEFAULT_MAX_EVENT_STREAMS = 200;

/** Counts open streams against a cap. */
export class StreamSlots {
  readonly max: number;
  #open = 0;

  constructor(max: number) {
    this.max = max;
  }

  get open(): number {
    return this.#open;
  }

  /** Takes a slot, or refuses; the returned release is safe to call more than once. */
  take(): () => void {
    if (this.#open >= this.max) {
      throw new TooManyStreamsError(`${this.max} event streams are open, the most this scheduler serves; try again later`, {
        details: { max: this.max },
      });
    }
    this.#open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open--;
    };
  }
}

export interface StreamOptions {
  /** A client whose socket stays full this long is disconnected. */
  stallMs: number;
  keepAliveMs: number;
  /** When the caller's credential expires (a JWT's exp): the stream ends then, and the client must authenticate again. */
  endAtMs?: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = { stallMs: 60_000, keepAliveMs: 15_000 };

/**
 * A `plan` snapshot at every plan state change and at most every 250 ms while hosts move,
 * and each `host` change. The stream ends with the plan. `release` runs when it closes.
 */
export function streamPlan(
  engine: Pick<Engine, 'runtime' | 'events'>,
  planId: string,
  reply: FastifyReply,
  loadView: () => Promise<PlanView>,
  release: () => void,
  opts: StreamOptions = DEFAULT_STREAM_OPTIONS,
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let ended = false;
  let stalled: NodeJS.Timeout | undefined;
  const write = (chunk: string): void => {
    if (ended || stalled) return;
    if (res.write(chunk)) return;
    // Full: drop what comes until it drains, then catch up with one snapshot.
    stalled = setTimeout(() => res.destroy(), opts.stallMs);
    res.once('drain', () => {
      clearTimeout(stalled);
      stalled = undefined;
      snapshot();
    });
  };
  const send = (event: string, data: unknown): void => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const sendView = (v: PlanView): void => {
    send('plan', v);
    if (v.state === 'completed' || v.state === 'aborted') {
      ended = true;
      res.end();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  function snapshot(): void {
    clearTimeout(timer);
    timer = undefined;
    // A live plan's view is built at once from memory; a finished one is read back.
    const rt = engine.runtime(planId);
    if (rt) sendView(planView(rt));
    else
      loadView()
        .then(sendView)
        .catch(() => res.end());
  }
  const onPlan = (id: string): void => {
    if (id !== planId) return;
    snapshot();
  };
  const onRun = (id: string, run: HostRunDoc): void => {
    if (id !== planId) return;
    send('host', {
      hostId: run.hostId,
      state: run.state,
      step: run.step,
      stepState: run.stepState,
      attempt: run.attempt,
      failure: run.failure,
      rollback: run.rollback,
      exclusionReason: run.exclusionReason ?? '',
    });
    timer ??= setTimeout(snapshot, 250);
  };
  engine.events.on('plan', onPlan);
  engine.events.on('run', onRun);
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), opts.keepAliveMs);
  const expiry =
    opts.endAtMs === undefined ? undefined : setTimeout(() => res.end(), Math.min(Math.max(0, opts.endAtMs - Date.now()), 2 ** 31 - 1));
  res.on('close', () => {
    ended = true;
    clearInterval(keepAlive);
    clearTimeout(expiry);
    clearTimeout(timer);
    clearTimeout(stalled);
    engine.events.off('plan', onPlan);
    engine.events.off('run', onRun);
    release();
  });
  snapshot();
}
