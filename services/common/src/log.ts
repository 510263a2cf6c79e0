// Structured JSON logs (pino). One logger per service, created in main.ts and injected.
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(service: string, level = process.env.YX_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service } });
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
