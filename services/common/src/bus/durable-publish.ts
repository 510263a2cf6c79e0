// JetStream publishes that ride out a stream leader election. While a replicated stream
// elects a leader (a node died, the cluster restarts, a rolling upgrade), a publish fails
// with no responders, "JetStream not enabled", a 503 or a timeout for some seconds; the
// same publish, with the same message id, succeeds once a leader is back, and the stream
// drops it if an earlier attempt had in fact been stored. Retryability is decided by the
// nats.js error classes and the server's status and error codes, never by message text.
import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
// The error classes a publish throws that the package's main entry does not export.
import { JetStreamStatusError, jserrors } from '@nats-io/jetstream/internal';
import { type MsgHdrs, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { UnavailableError } from '../errors.ts';

/** The publish was not acknowledged before its deadline; the last failure is the cause. */
export class PublishUnavailableError extends UnavailableError {
  override readonly code = 'BUS_PUBLISH_UNAVAILABLE';
}

/** The server's "JetStream system temporarily unavailable" (JSClusterNotAvailErr). */
const CLUSTER_NOT_AVAILABLE = 10008;
const SERVICE_UNAVAILABLE = 503;
/**
 * The stream's ingest queue is full (JSStreamTooManyRequests, since nats-server 2.11: 128
 * MiB or 10,000 messages waiting to be stored). Many publishers each keeping a window of
 * pieces in flight reach it (50 agents uploading backups at a wave's start did, in CI):
 * the message was dropped, and the same publish after a pause is stored.
 */
const TOO_MANY_REQUESTS = 429;
const STREAM_TOO_MANY_REQUESTS = 10167;

/**
 * Whether a failed JetStream publish may succeed if sent again: no responders and
 * "JetStream not enabled" (what a client sees while the stream or the meta leader is
 * being elected), timeouts, 503 answers, and 429 (the stream's ingest queue is full). A
 * bad subject, a closed connection, a stream that refuses the message (limits, wrong
 * sequence) are not.
 */
export function isRetryablePublishError(err: unknown): boolean {
  if (err instanceof jserrors.JetStreamNotEnabled) return true;
  if (err instanceof TimeoutError || err instanceof NoRespondersError) return true;
  if (err instanceof RequestError) return err.isNoResponders() || err.cause instanceof TimeoutError;
  if (err instanceof JetStreamStatusError) return err.code === SERVICE_UNAVAILABLE;
  if (err instanceof JetStreamApiError)
    return (
      err.status === SERVICE_UNAVAILABLE ||
      err.code === CLUSTER_NOT_AVAILABLE ||
      err.status === TOO_MANY_REQUESTS ||
      err.code === STREAM_TOO_MANY_REQUESTS
    );
  return false;
}

export interface PublishRetryOptions {
  /** Give up (PublishUnavailableError) when no attempt was acknowledged within this long. */
  deadlineMs: number;
  /** Longest wait for one attempt's acknowledgement. */
  attemptTimeoutMs: number;
  /** First pause between attempts; doubles up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const defaultPublishRetry: PublishRetryOptions = {
  deadlineMs: 60_000,
  attemptTimeoutMs: 5_000,
  firstDelayMs: 100,
  maxDelayMs: 2_000,
};

/** The pause before attempt `attempt + 1`: exponential, capped, with jitter in [1/2, 1]. */
export function retryDelay(attempt: number, opts: Pick<PublishRetryOptions, 'firstDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.firstDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}

export interface PublishRetryHooks {
  clock?: () => number;
  /** Called before each pause after a retryable failure (for logs and metrics). */
  onRetry?: (err: unknown, attempt: number) => void;
  /** Headers sent with every attempt (the trace context). */
  headers?: MsgHdrs;
}

/**
 * Publishes with a message id until the stream acknowledges it. Retryable failures are
 * retried with backoff until the deadline; other failures are thrown at once.
 */
export async function publishWithRetry(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array | string,
  msgID: string,
  opts: Partial<PublishRetryOptions> = {},
  hooks: PublishRetryHooks = {},
): Promise<PubAck> {
  const o = { ...defaultPublishRetry, ...opts };
  const clock = hooks.clock ?? Date.now;
  const deadline = clock() + o.deadlineMs;
  for (let attempt = 0; ; attempt++) {
    const left = deadline - clock();
    try {
      const timeout = Math.max(100, Math.min(o.attemptTimeoutMs, left));
      return await js.publish(subject, data, hooks.headers ? { msgID, timeout, headers: hooks.headers } : { msgID, timeout });
    } catch (err) {
      if (!isRetryablePublishError(err)) throw err;
      const pause = retryDelay(attempt, o);
      if (clock() + pause >= deadline) {
        throw new PublishUnavailableError(`${subject}: not acknowledged within ${o.deadlineMs} ms (${attempt + 1} attempts)`, {
          cause: err,
          details: { subject, msgID, attempts: attempt + 1 },
        });
      }
      hooks.onRetry?.(err, attempt);
      await sleep(pause);
    }
  }
}
