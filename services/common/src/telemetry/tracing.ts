// Traces: the OpenTelemetry SDK, on when an OTLP endpoint is configured and off (the API's
// no-op tracer, no context manager) otherwise. The standard OTEL_* variables configure the
// exporter (endpoint, headers, timeout), the batch processor and the sampler; the exporter
// speaks OTLP/HTTP with JSON bodies. W3C trace context travels in NATS headers (see
// trace-context.ts) so a host-run is one trace across the scheduler, agents and backups.
import {
  type Attributes,
  context,
  isSpanContextValid,
  propagation,
  type Span,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
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
import { contextOfTraceparent, tracer } from './trace-context.ts';

export interface Tracing {
  /** Exports what is buffered and stops; resolves when done (or failed: tracing never stops a service). */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { shutdown: async () => undefined };
let started: Tracing | undefined;

/** Whether the environment asks for traces: an OTLP endpoint is set and the SDK is not disabled. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

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
