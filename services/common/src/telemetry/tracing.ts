// Traces: the OpenTelemetry SDK, on when an OTLP endpoint is configured and off (the API's
// no-op tracer, no context manager) otherwise. The standard OTEL_* variables configure the
// exporter (endpoint, headers, timeout), the batch processor and the sampler; the exporter
// speaks OTLP/HTTP with JSON bodies. W3C trace context travels in NATS headers (see
// trace-context.ts) so a host-run is one trace across the scheduler, agents and backups.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  type BatchSpanProcessorOptions,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ConfigError } from '../errors.ts';
import { traceHttpClients } from './http-client-spans.ts';
import { tracingConfigured } from './tracing-env.ts';

export interface Tracing {
  /** Exports what is buffered and stops; resolves when done (or failed: tracing never stops a service). */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { shutdown: async () => undefined };
let started: Tracing | undefined;

// The SDK (3.x) left the OTEL_BSP_* and OTEL_TRACES_SAMPLER variables to the full
// sdk-node (which brings every exporter, gRPC included); these few lines read them.
const BSP_VARS = {
  OTEL_BSP_SCHEDULE_DELAY: 'scheduledDelayMillis',
  OTEL_BSP_EXPORT_TIMEOUT: 'exportTimeoutMillis',
  OTEL_BSP_MAX_QUEUE_SIZE: 'maxQueueSize',
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 'maxExportBatchSize',
} as const;

/** The batch processor's settings from the standard OTEL_BSP_* variables (unset: the SDK's defaults). */
export function batchOptionsOf(env: NodeJS.ProcessEnv): Partial<BatchSpanProcessorOptions> {
  const out: Record<string, number> = {};
  for (const [name, key] of Object.entries(BSP_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not a whole number >= 0`);
    out[key] = n;
  }
  return out;
}

/** The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name (default: parentbased_always_on). */
export function samplerOf(env: NodeJS.ProcessEnv): Sampler {
  const name = env.OTEL_TRACES_SAMPLER || 'parentbased_always_on';
  const ratio = (): number => {
    const raw = env.OTEL_TRACES_SAMPLER_ARG ?? '1';
    const r = Number(raw);
    if (!(r >= 0 && r <= 1)) throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG: ${JSON.stringify(raw)} is not a ratio between 0 and 1`);
    return r;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      throw new ConfigError(
        `OTEL_TRACES_SAMPLER: ${JSON.stringify(name)} is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio`,
      );
  }
}

/**
 * Starts the SDK once per process when the environment asks for it; `serviceName` is the
 * default of OTEL_SERVICE_NAME. Called by runMain before a service's main runs.
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  if (started) return started;
  if (!tracingConfigured(env)) {
    started = OFF;
    return OFF;
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName }),
    sampler: samplerOf(env),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), ...batchOptionsOf(env) })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  // Fetches made before it loads (a few ms after start) go without a span.
  traceHttpClients().catch(() => undefined);
  started = { shutdown: () => provider.shutdown().catch(() => undefined) };
  // Spans buffered when the process stops on a signal are flushed by the stop steps'
  // caller; a normal exit flushes here.
  process.once('beforeExit', () => void started?.shutdown());
  return started;
}

/** Exports the spans buffered so far (the stop path of a service). */
export async function stopTracing(): Promise<void> {
  await started?.shutdown();
}

// The spans themselves need only the API (spans.ts); exported from here as well, as before.
export { inSpan, startSpan, type TraceSpan, type TraceSpanOptions } from './spans.ts';
export { tracingConfigured } from './tracing-env.ts';
