// W3C trace context in NATS message headers: the bus injects the active context on every
// publish, request and JetStream publish, and runs a handler in the context a message carries.

import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import {
  type Context,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get: (carrier, key) => (carrier?.has(key) ? carrier.get(key) : undefined),
};

/**
 * The headers to send with a message: `given` plus the active trace context, or `given`
 * unchanged when no span is active (tracing off, or outside any traced work).
 */
export function withTraceHeaders(given?: MsgHdrs): MsgHdrs | undefined {
  const active = trace.getSpanContext(context.active());
  if (!active || !isSpanContextValid(active)) return given;
  const h = given ?? natsHeaders();
  propagation.inject(context.active(), h, setter);
  return h;
}

/** The trace context a message carries (the root context when it carries none). */
export function contextOfHeaders(h: MsgHdrs | undefined): Context {
  if (!h?.has('traceparent')) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, h, getter);
}
