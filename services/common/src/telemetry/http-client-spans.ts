// A client span per outgoing fetch made inside traced work (webhook and chat deliveries,
// operation callbacks), carrying the trace to the receiver in `traceparent`. Node's fetch
// is undici, which reports each request on diagnostics channels:
// @opentelemetry/instrumentation-undici listens there, without patching any module.
// Loaded only when tracing is on: it brings the instrumentation base and its module hooks.
import type { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

let instrumentation: UndiciInstrumentation | undefined;

/**
 * Starts the fetch spans (once per process). Only requests made inside a span get one: a
 * probe or a poll outside any trace would otherwise start a trace each.
 */
export async function traceHttpClients(): Promise<void> {
  if (!instrumentation) {
    const { UndiciInstrumentation } = await import('@opentelemetry/instrumentation-undici');
    instrumentation ??= new UndiciInstrumentation({ requireParentforSpans: true });
  }
  instrumentation.enable();
}

/** Stops them (tests that switch tracing off again). */
export function untraceHttpClients(): void {
  instrumentation?.disable();
}
