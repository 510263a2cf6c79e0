// Operation callbacks: each OperationEvent is posted to its operation's callback URL,
// signed, from one durable consumer of YX_EVENTS, so a scheduler that restarts goes on
// where it stopped and a receiver that is down gets the event when it is back. Only URLs
// under a registered prefix (YX_OPERATION_CALLBACK_URLS) are ever called: an operation
// cannot make the scheduler post to any address (server-side request forgery).
import { createHmac } from 'node:crypto';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import {
  type Bus,
  catalog,
  DURABLE_PULL_EXPIRES_MS,
  durableNames,
  ensureDurable,
  FailureKind,
  type Logger,
  type OperationEvent,
  Step,
  stepName,
  YxError,
} from '@yixing/common';

/** A callback URL no registered prefix allows, or one given while callbacks are not configured. */
export class CallbackNotAllowedError extends YxError {
  readonly code = 'CALLBACK_NOT_ALLOWED';
  readonly retryable = false;
  override readonly httpStatus = 400;
}

export interface CallbackConfig {
  /** URL prefixes callbacks may go to; none: operations cannot ask for callbacks. */
  allowedPrefixes: readonly string[];
  /** The HMAC-SHA256 key of the signature header. */
  secret: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Backoff between attempts: first, longest. */
  backoffMs: { first: number; max: number };
  /** Attempts before the event is given up (logged and counted). */
  maxAttempts: number;
}

/** Whether `url` is under a registered prefix; the reason when not. Pure. */
export function callbackProblem(url: string, cfg: Pick<CallbackConfig, 'allowedPrefixes' | 'secret'>): string | undefined {
  if (cfg.allowedPrefixes.length === 0 || cfg.secret === '')
    return 'callbacks are not configured on this scheduler (YX_OPERATION_CALLBACK_URLS and YX_OPERATION_CALLBACK_SECRET)';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url.slice(0, 80))} is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${parsed.protocol} is not http or https`;
  if (parsed.username || parsed.password) return 'a callback URL carries no credentials';
  if (!cfg.allowedPrefixes.some((p) => url.startsWith(p)))
    return `${url} is under no registered callback URL (${cfg.allowedPrefixes.join(', ')})`;
  return undefined;
}

/**
 * The signature header of a body sent at `unixSeconds`: `t=<seconds>,v1=<hex HMAC-SHA256 of
 * "<seconds>.<body>">`, as Stripe signs webhooks, so a receiver can refuse a replayed or
 * altered callback. Pure.
 */
export function callbackSignature(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** The JSON a callback receiver gets: the event, with names for its enums. Pure. */
export function callbackBody(evt: OperationEvent): Record<string, unknown> {
  return {
    eventId: evt.eventId,
    operationId: evt.operationId,
    hostId: evt.hostId,
    capability: evt.capability,
    state: evt.state,
    planId: evt.planId,
    runId: evt.runId,
    step: evt.step === Step.UNSPECIFIED ? null : stepName(evt.step),
    error: evt.error
      ? {
          code: evt.error.code,
          message: evt.error.message,
          kind: evt.error.kind === FailureKind.UNSPECIFIED ? 'execution' : FailureKind[evt.error.kind]?.toLowerCase(),
        }
      : null,
    backupId: evt.backupId,
    at: new Date(evt.atMs).toISOString(),
  };
}

/** What to do after an attempt: done, again after `delayMs`, or give up. Pure. */
export function afterAttempt(
  status: number | 'error',
  attempt: number,
  cfg: Pick<CallbackConfig, 'backoffMs' | 'maxAttempts'>,
  retryAfterMs?: number,
): { kind: 'done' } | { kind: 'retry'; delayMs: number } | { kind: 'give-up'; reason: string } {
  if (typeof status === 'number' && status >= 200 && status < 300) return { kind: 'done' };
  // A receiver that refuses the request itself will refuse it again; a busy or broken one may not.
  const transient = status === 'error' || status === 408 || status === 429 || status >= 500;
  if (!transient) return { kind: 'give-up', reason: `the receiver answered ${status}` };
  if (attempt >= cfg.maxAttempts) return { kind: 'give-up', reason: `${attempt} attempts failed (last: ${status})` };
  const backoff = Math.min(cfg.backoffMs.max, cfg.backoffMs.first * 2 ** (attempt - 1));
  return { kind: 'retry', delayMs: Math.max(backoff, Math.min(retryAfterMs ?? 0, cfg.backoffMs.max)) };
}

export interface OperationCallbacksDeps {
  bus: Bus;
  log: Logger;
  config: CallbackConfig;
  /** The callback URL of an operation ('' for none). */
  callbackOf(operationId: string): Promise<string>;
  clock: () => number;
  /** Counts attempts by result (delivered, retried, given-up). */
  count?(result: 'delivered' | 'retried' | 'given-up'): void;
}

export class OperationCallbacks {
  readonly #d: OperationCallbacksDeps;
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;

  constructor(deps: OperationCallbacksDeps) {
    this.#d = deps;
  }

  async start(): Promise<void> {
    const consumer = await ensureDurable(this.#d.bus.nc, catalog.operationEvent.stream, {
      name: durableNames.schedulerOperationCallbacks,
      filterSubjects: [catalog.operationEvent.filter],
      // An attempt's time limit and a little more: a slow receiver does not get it twice at once.
      ack_wait: (this.#d.config.timeoutMs + 10_000) * 1_000_000,
      max_ack_pending: 256,
    });
    this.#messages = await consumer.consume({ max_messages: 64, expires: DURABLE_PULL_EXPIRES_MS });
    this.#loop = this.#run(this.#messages);
  }

  async #run(messages: ConsumerMessages): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for await (const msg of messages) {
      const p = this.#deliver(msg)
        .catch((err: Error) => {
          this.#d.log.warn({ err: err.message, subject: msg.subject }, 'operation callback not handled; redelivered');
          msg.nak(this.#d.config.backoffMs.first);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 16) await Promise.race(inFlight);
    }
    await Promise.allSettled(inFlight);
  }

  async #deliver(msg: JsMsg): Promise<void> {
    const decoded = this.#d.bus.decodeStored(msg);
    if (decoded?.name !== 'operationEvent') {
      msg.term();
      return;
    }
    const evt: OperationEvent = decoded.message;
    const url = await this.#d.callbackOf(evt.operationId);
    // A URL stored before the registered prefixes changed is checked again.
    const problem = url === '' ? 'none' : callbackProblem(url, this.#d.config);
    if (problem) {
      if (url !== '') this.#d.log.warn({ operation: evt.operationId, url, problem }, 'operation callback not sent');
      msg.ack();
      return;
    }
    const body = JSON.stringify(callbackBody(evt));
    const attempt = msg.info.deliveryCount;
    let status: number | 'error' = 'error';
    let retryAfterMs: number | undefined;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'yixing-scheduler',
          'x-yixing-event-id': evt.eventId,
          'x-yixing-signature': callbackSignature(this.#d.config.secret, Math.floor(this.#d.clock() / 1000), body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#d.config.timeoutMs),
      });
      status = res.status;
      const ra = Number(res.headers.get('retry-after'));
      if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
      await res.body?.cancel();
    } catch (err) {
      this.#d.log.debug({ operation: evt.operationId, err: (err as Error).message }, 'operation callback failed');
    }
    const next = afterAttempt(status, attempt, this.#d.config, retryAfterMs);
    if (next.kind === 'done') {
      this.#d.count?.('delivered');
      msg.ack();
    } else if (next.kind === 'retry') {
      this.#d.count?.('retried');
      msg.nak(next.delayMs);
    } else {
      this.#d.count?.('given-up');
      this.#d.log.error({ operation: evt.operationId, url, reason: next.reason, event: evt.eventId }, 'operation callback given up');
      msg.term();
    }
  }

  async stop(): Promise<void> {
    await this.#messages?.close();
    await this.#loop;
  }
}
