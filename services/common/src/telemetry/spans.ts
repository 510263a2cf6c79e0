// Spans as services make them: only the OpenTelemetry API, no SDK, so a process that never
// exports traces (the standalone agent) does not load the SDK to make its no-op spans.
import {
  type Attributes,
  context,
  isSpanContextValid,
  type Span,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { contextOfTraceparent, tracer } from './trace-context.ts';

/**
 * Runs `fn` in a new span (a child of the active one), ending it when `fn` settles and
 * recording a failure. With tracing off the span is the API's no-op one.
 */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span a service holds without importing the OpenTelemetry API: its id to store, run-in, end. */
export interface TraceSpan {
  /** The span as a `traceparent` value, to store or send ('' with tracing off). */
  readonly traceparent: string;
  /** Runs `fn` with this span active (messages sent inside carry it). */
  run<T>(fn: () => T): T;
  /** Adds attributes learnt while it runs (counts, sizes, outcomes). */
  set(attributes: Attributes): void;
  /** Ends the span, as failed when a reason is given; at `endTime` (epoch ms) when it ended earlier than now. */
  end(failure?: string, endTime?: number): void;
}

export interface TraceSpanOptions {
  attributes?: Attributes;
  /**
   * The parent, as a stored `traceparent`: '' starts a new trace; undefined takes the
   * active span (if any) as the parent.
   */
  parent?: string;
  kind?: 'internal' | 'producer' | 'consumer';
  /**
   * Spans this one relates to without being their child, as stored `traceparent`s (one
   * notification for the alerts of several runs); '' and invalid ones are left out.
   */
  links?: readonly string[];
  /** When it started (epoch ms), for a span made after the fact from observed times; default now. */
  startTime?: number;
}

const KINDS = { internal: SpanKind.INTERNAL, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER };

/** Starts a span (a no-op one with tracing off, whose traceparent is ''). */
export function startSpan(name: string, opts: TraceSpanOptions = {}): TraceSpan {
  const parent = opts.parent === undefined ? context.active() : contextOfTraceparent(opts.parent);
  const links = (opts.links ?? [])
    .map((tp) => trace.getSpanContext(contextOfTraceparent(tp)))
    .filter((sc): sc is SpanContext => sc !== undefined && isSpanContextValid(sc))
    .map((sc) => ({ context: sc }));
  const span = tracer().startSpan(
    name,
    {
      kind: KINDS[opts.kind ?? 'internal'],
      ...(opts.attributes ? { attributes: opts.attributes } : {}),
      ...(links.length > 0 ? { links } : {}),
      ...(opts.startTime !== undefined ? { startTime: opts.startTime } : {}),
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  const sc = span.spanContext();
  const traceparent = isSpanContextValid(sc) ? `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}` : '';
  return {
    traceparent,
    run: (fn) => context.with(ctx, fn),
    set: (attributes) => {
      span.setAttributes(attributes);
    },
    end: (failure, endTime) => {
      if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
      span.end(endTime);
    },
  };
}
