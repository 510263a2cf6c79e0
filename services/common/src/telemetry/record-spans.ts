// For tests: the SDK set up in this process with an in-memory exporter, so a unit test
// sees the spans its code made (names, parents, attributes, status, links) without OTLP.
// Exported from `@yixing/common/internal` only: production code never loads it.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

export type { ReadableSpan };

export interface RecordedSpans {
  /** The spans ended so far, in the order they ended. */
  finished(): ReadableSpan[];
  /** The ended spans of that name. */
  named(name: string): ReadableSpan[];
  /** The ended spans whose parent is `parent`. */
  childrenOf(parent: ReadableSpan): ReadableSpan[];
  /** Tracing back off (the API's no-op tracer) for the tests that follow. */
  stop(): Promise<void>;
}

/** Starts recording every span this process makes; `stop()` when the test is done. */
export function recordSpans(): RecordedSpans {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const finished = (): ReadableSpan[] => exporter.getFinishedSpans();
  return {
    finished,
    named: (name) => finished().filter((s) => s.name === name),
    childrenOf: (parent) => finished().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId),
    stop: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
