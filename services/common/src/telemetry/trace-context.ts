// W3C trace context in stored records and log lines: a host-run keeps its trace in a
// `traceparent` string so a restarted scheduler continues the same trace. No NATS here:
// the HTTP error shape and the logger use this, and the console bundles them for browsers.
import { type Context, context, isSpanContextValid, propagation, ROOT_CONTEXT, type Tracer, trace } from '@opentelemetry/api';

/** The tracer every Yixing span comes from (the API's no-op one until tracing starts). */
export const tracer = (): Tracer => trace.getTracer('yixing');

/** The active span's context as a `traceparent` value, or '' when none is active. */
export function currentTraceparent(): string {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? '';
}

/** The context a stored `traceparent` names (the root context for '' or an invalid one). */
export function contextOfTraceparent(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The active span's trace and span ids, for a log line or an error body; undefined without one. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const sc = trace.getSpanContext(context.active());
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId };
}

/**
 * Runs `fn` outside any trace: timers and loops it starts do not inherit the caller's
 * span (an agent restarted by a simulated reboot's step would otherwise send every later
 * heartbeat in that step's trace).
 */
export function outsideTraces<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/**
 * Runs `fn` with a stored `traceparent` as the active context, unless a span of that
 * trace is active already (a deeper parent): messages sent inside join the trace.
 */
export function inTraceOf<T>(traceparent: string | undefined, fn: () => T): T {
  const traceId = (traceparent ?? '').split('-')[1];
  if (!traceparent || activeTraceIds()?.traceId === traceId) return fn();
  return context.with(contextOfTraceparent(traceparent), fn);
}
