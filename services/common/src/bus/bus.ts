// The typed bus: services publish, request and subscribe only through the catalog, so
// every message is validated on the way out and decoded and validated on the way in.
// A message that fails to decode is counted (yx_bus_invalid_messages_total) and dropped.
import { type JetStreamClient, type JsMsg, jetstream, type PubAck } from '@nats-io/jetstream';
import {
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  PermissionViolationError,
  type Subscription,
  TimeoutError,
} from '@nats-io/transport-node';
import { context, isSpanContextValid, SpanKind, trace } from '@opentelemetry/api';
import { isYxError, UnavailableError, YxError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { Counter, Histogram, type Registry } from '../metrics.ts';
import { tracer } from '../telemetry/trace-context.ts';
import {
  catalog,
  decode,
  decodeReply,
  encode,
  encodeReply,
  type InitOf,
  type MessageOf,
  type ReplyInitOf,
  type ReplyOf,
  type Route,
  type RouteName,
  subjectPattern,
} from './codec.ts';
import { type PublishRetryOptions, publishWithRetry } from './durable-publish.ts';
import { contextOfHeaders, withTraceHeaders } from './trace-headers.ts';

export * from './durable-publish.ts';

export interface BusDeps {
  nc: NatsConnection;
  log: Logger;
  registry: Registry;
}

export interface Delivery<N extends RouteName> {
  subject: string;
  headers: MsgHdrs | undefined;
  /** Replies to a request; only for routes with a reply type. */
  respond(init: ReplyInitOf<N>): void;
}

/** No agent (or service) listens on the subject: the peer is unreachable. */
export class NoResponderError extends UnavailableError {
  override readonly code = 'BUS_NO_RESPONDER';
}

/** The broker refused: this identity may not publish (or read) that subject. */
export class BusPermissionError extends YxError {
  readonly code = 'BUS_PERMISSION_DENIED';
  readonly retryable = false;
}

/** A permission violation the client reported for an operation, as a BusPermissionError. */
function permissionError(err: unknown, subject: string): BusPermissionError | undefined {
  const cause = (err as Error).cause ?? err;
  if (!(err instanceof PermissionViolationError || cause instanceof PermissionViolationError)) return undefined;
  return new BusPermissionError(`the bus refused ${subject} to this identity`, { cause: err, details: { subject } });
}

/** The peer did not answer in time. */
export class RequestTimeoutError extends UnavailableError {
  override readonly code = 'BUS_REQUEST_TIMEOUT';
}

/** A failed request as the error its caller handles (denied, no responder, timeout, or as thrown). */
function requestError(err: unknown, subject: string, timeoutMs: number): unknown {
  const denied = permissionError(err, subject);
  if (denied) return denied;
  const cause = (err as Error).cause ?? err;
  if (err instanceof NoRespondersError || cause instanceof NoRespondersError) {
    return new NoResponderError(`no responder on ${subject}`, { cause: err });
  }
  if (err instanceof TimeoutError || cause instanceof TimeoutError) {
    return new RequestTimeoutError(`no reply on ${subject} within ${timeoutMs} ms`, { cause: err });
  }
  return err;
}

const routeMatchers = (Object.keys(catalog) as RouteName[]).map((name) => {
  const route: Route = catalog[name];
  const re = new RegExp(`^${route.subject.replace(/\./g, '\\.').replace(/\{[a-z0-9_]+\}/g, '[^.]+')}$`);
  return { name, re };
});

/** The route whose subject pattern matches a concrete subject, if any. */
export function routeOfSubject(subject: string): RouteName | undefined {
  return routeMatchers.find((m) => m.re.test(subject))?.name;
}

/**
 * Runs the handling of a message that carries a trace context in a consumer span of that
 * trace (ended when `fn` returns or its promise settles); without one (tracing off, or a
 * sender outside traced work: heartbeats) it just runs `fn`.
 */
function withMessageSpan<T>(route: string, subject: string, headers: MsgHdrs | undefined, fn: () => T): T {
  const parent = contextOfHeaders(headers);
  const sc = trace.getSpanContext(parent);
  if (!sc || !isSpanContextValid(sc)) return fn();
  const span = tracer().startSpan(
    `${route} receive`,
    { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject } },
    parent,
  );
  return context.with(trace.setSpan(parent, span), () => {
    let r: T;
    try {
      r = fn();
    } catch (e) {
      span.end();
      throw e;
    }
    if (r instanceof Promise) r.finally(() => span.end()).catch(() => undefined);
    else span.end();
    return r;
  });
}

/** How a publish or request ended, as a bounded label: ok, timeout, no_responder, denied or error. */
export function busOutcome(err: unknown): 'ok' | 'timeout' | 'no_responder' | 'denied' | 'error' {
  if (err === undefined) return 'ok';
  switch (isYxError(err) ? err.code : undefined) {
    case 'BUS_REQUEST_TIMEOUT':
      return 'timeout';
    case 'BUS_NO_RESPONDER':
      return 'no_responder';
    case 'BUS_PERMISSION_DENIED':
      return 'denied';
    case 'BUS_PUBLISH_UNAVAILABLE':
      return 'timeout';
    default:
      return 'error';
  }
}

// Sub-millisecond on loopback, seconds across a leader election: the buckets span both.
const BUS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Bus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly #log: Logger;
  readonly #invalid: Counter<'route' | 'code'>;
  readonly #publishRetries: Counter<'route'>;
  readonly #publishSeconds: Histogram<'route' | 'outcome'>;
  readonly #requestSeconds: Histogram<'route' | 'outcome'>;

  constructor(deps: BusDeps) {
    this.nc = deps.nc;
    this.js = jetstream(deps.nc);
    this.#log = deps.log;
    // Several buses may share a registry (a simulated fleet: one connection per host).
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
      (deps.registry.getSingleMetric(name) as Counter<L> | undefined) ??
      new Counter({ name, help, labelNames, registers: [deps.registry] });
    this.#invalid = counter('yx_bus_invalid_messages_total', 'Bus messages dropped because they failed to decode or validate', [
      'route',
      'code',
    ]);
    this.#publishRetries = counter(
      'yx_bus_publish_retries_total',
      'JetStream publishes sent again after a retryable failure (a leader election, a timeout)',
      ['route'],
    );
    const histogram = (name: string, help: string): Histogram<'route' | 'outcome'> =>
      (deps.registry.getSingleMetric(name) as Histogram<'route' | 'outcome'> | undefined) ??
      new Histogram({ name, help, labelNames: ['route', 'outcome'], buckets: BUS_BUCKETS, registers: [deps.registry] });
    this.#publishSeconds = histogram(
      'yx_bus_publish_seconds',
      'JetStream publishes by route and outcome: from the first send to the stream acknowledgement, retries included',
    );
    this.#requestSeconds = histogram('yx_bus_request_seconds', 'Bus requests by route and outcome: from the send to the reply');
  }

  /** Records a message that failed to decode, and logs it (rate limited by the logger). */
  countInvalid(route: string, err: unknown, subject: string): void {
    const code = isYxError(err) ? err.code : 'UNKNOWN';
    this.#invalid.inc({ route, code });
    this.#log.warn({ subject, code, err: (err as Error).message }, 'dropped an invalid bus message');
  }

  /** Core NATS publish, fire and forget. */
  publish<N extends RouteName>(name: N, init: InitOf<N>, headers?: MsgHdrs): MessageOf<N> {
    const { subject, data, message } = encode(name, init);
    const h = withTraceHeaders(headers);
    this.nc.publish(subject, data, h ? { headers: h } : undefined);
    return message;
  }

  /**
   * JetStream publish with a message id, so a re-sent message is dropped by the stream.
   * Retryable failures (a stream leader election, a timeout) are retried with backoff up
   * to a deadline; then it throws PublishUnavailableError (retryable).
   */
  async publishDurable<N extends RouteName>(
    name: N,
    init: InitOf<N>,
    msgId: string,
    retry: Partial<PublishRetryOptions> = {},
  ): Promise<PubAck> {
    const { subject, data } = encode(name, init);
    const end = this.#publishSeconds.startTimer({ route: name });
    try {
      const headers = withTraceHeaders();
      const ack = await publishWithRetry(this.js, subject, data, msgId, retry, {
        ...(headers ? { headers } : {}),
        onRetry: (err, attempt) => {
          this.#publishRetries.inc({ route: name });
          if (attempt === 0) this.#log.warn({ subject, msgId, err: (err as Error).message }, 'publish not acknowledged yet, retrying');
        },
      });
      end({ outcome: 'ok' });
      return ack;
    } catch (err) {
      const failure = permissionError(err, subject) ?? err;
      end({ outcome: busOutcome(failure) });
      throw failure;
    }
  }

  /** Request/reply; the reply is decoded and validated. */
  async request<N extends RouteName>(name: N, init: InitOf<N>, timeoutMs = 5_000): Promise<ReplyOf<N>> {
    const { subject, data } = encode(name, init);
    const end = this.#requestSeconds.startTimer({ route: name });
    let reply: { data: Uint8Array };
    try {
      const headers = withTraceHeaders();
      reply = await this.nc.request(subject, data, headers ? { timeout: timeoutMs, headers } : { timeout: timeoutMs });
    } catch (err) {
      const failure = requestError(err, subject, timeoutMs);
      end({ outcome: busOutcome(failure) });
      throw failure;
    }
    end({ outcome: 'ok' });
    return decodeReply(name, reply.data);
  }

  /**
   * Subscribes to a route (tokens not given are wildcards). Invalid messages are counted
   * and dropped; a handler error is logged and never ends the subscription.
   */
  subscribe<N extends RouteName>(
    name: N,
    tokens: Parameters<typeof subjectPattern<N>>[1],
    handler: (msg: MessageOf<N>, delivery: Delivery<N>) => void | Promise<void>,
    opts: { queue?: string } = {},
  ): Subscription {
    const subject = subjectPattern(name, tokens);
    return this.nc.subscribe(subject, {
      ...(opts.queue ? { queue: opts.queue } : {}),
      callback: (err, msg) => {
        if (err) {
          this.#log.error({ err: err.message, subject }, 'subscription error');
          return;
        }
        let decoded: MessageOf<N>;
        try {
          decoded = decode(name, msg.data, msg.subject);
        } catch (e) {
          this.countInvalid(name, e, msg.subject);
          return;
        }
        const delivery: Delivery<N> = {
          subject: msg.subject,
          headers: msg.headers,
          respond: (init) => {
            msg.respond(encodeReply(name, init));
          },
        };
        const run = (): void => {
          try {
            const r = handler(decoded, delivery);
            if (r instanceof Promise)
              r.catch((e: Error) => this.#log.error({ err: e.message, stack: e.stack, subject: msg.subject }, 'handler failed'));
          } catch (e) {
            this.#log.error({ err: (e as Error).message, stack: (e as Error).stack, subject: msg.subject }, 'handler failed');
          }
        };
        withMessageSpan(name, msg.subject, msg.headers, run);
      },
    });
  }

  /** Runs `fn` in a span continuing the trace a stored message carries (directly, when it carries none). */
  inMessageContext<T>(msg: JsMsg, fn: () => T): T {
    return withMessageSpan(routeOfSubject(msg.subject) ?? 'unknown', msg.subject, msg.headers, fn);
  }

  /**
   * Decodes a JetStream message by its subject's route. Returns undefined (after counting
   * it and terminating its delivery) for a message that cannot be decoded.
   */
  decodeStored(msg: JsMsg): { [N in RouteName]: { name: N; message: MessageOf<N> } }[RouteName] | undefined {
    const name = routeOfSubject(msg.subject);
    if (!name) {
      this.countInvalid('unknown', new Error(`no route for subject ${msg.subject}`), msg.subject);
      msg.term();
      return undefined;
    }
    try {
      return { name, message: decode(name, msg.data, msg.subject) } as never;
    } catch (e) {
      this.countInvalid(name, e, msg.subject);
      msg.term();
      return undefined;
    }
  }
}
