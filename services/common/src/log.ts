// Structured JSON logs (pino). One logger per service, created in main.ts and injected.
import { type Logger, pino } from 'pino';
import { activeTraceIds } from './telemetry/trace-context.ts';

export type { Logger };

export function createLogger(service: string, level = process.env.YX_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service }, mixin: traceFields });
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A log line written inside a span names its trace (nothing without one, or with tracing off). */
function traceFields(): { trace_id?: string; span_id?: string } {
  const ids = activeTraceIds();
  return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}
