// The process edge every service main.ts shares: stop in order on SIGTERM/SIGINT, exit
// with a one-line reason when start-up fails, and survive a promise rejection nobody
// handled (logged and counted).
import { isYxError } from './errors.ts';
import { createLogger } from './log.ts';
import { startTracing, stopTracing } from './telemetry/tracing.ts';

/**
 * How long a graceful stop may take. A stop step can wait forever on a server that went
 * away first (seen: a scheduler whose NATS and FerretDB were stopped beside it never
 * exited, and `./dev start` waited on it); past this the process exits anyway, with 1.
 */
export const SHUTDOWN_GRACE_MS = 20_000;

/**
 * Runs the steps in order on SIGTERM or SIGINT (a step that fails does not stop the rest),
 * then exits 0; exits 1 when they take longer than `graceMs` or on a second signal.
 */
export function stopOnSignals(...steps: (() => Promise<unknown>)[]): (why: string, exitCode?: number) => Promise<void> {
  return stopOnSignalsWithin(SHUTDOWN_GRACE_MS, ...steps);
}

/** Returns the same stop, for a process that decides to stop itself (with its exit code). */
export function stopOnSignalsWithin(
  graceMs: number,
  ...steps: (() => Promise<unknown>)[]
): (why: string, exitCode?: number) => Promise<void> {
  let stopping = false;
  const shutdown = async (signal: string, exitCode = 0): Promise<void> => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without finishing the stop\n`);
      process.exit(1);
    }
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`the stop did not finish within ${graceMs} ms: exiting\n`);
      process.exit(1);
    }, graceMs).unref();
    for (const step of steps) await step().catch(() => undefined);
    await stopTracing();
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  return shutdown;
}

let unhandled = 0;
let guarded = false;

/** Promise rejections nobody handled in this process (exported as yx_unhandled_rejections_total). */
export function unhandledRejections(): number {
  return unhandled;
}

/**
 * Logs a promise rejection nobody handled, as an error with its stack, counts it, and
 * keeps the process running instead of Node's default exit. Such a rejection is a bug in
 * a fire-and-forget path (a write that failed in a database blip): that one side effect
 * is lost, but the services are level-triggered and re-derive their work from stored
 * state (the scheduler's tick and re-sends, the agent's recovery, the backup sweeps),
 * while exiting would drop the supervision of every host and every request in flight,
 * and a database outage would turn into a crash loop. The counter is what alerts.
 * An uncaught exception still ends the process: the code that threw is in an unknown state.
 */
export function surviveUnhandledRejections(name: string): void {
  if (guarded) return;
  guarded = true;
  const log = createLogger(name);
  process.on('unhandledRejection', (reason) => {
    unhandled++;
    const err = reason instanceof Error ? reason : undefined;
    log.error(
      { err: err?.message ?? String(reason), code: isYxError(reason) ? reason.code : undefined, stack: err?.stack, total: unhandled },
      'unhandled promise rejection (a bug: a promise nobody awaited or caught); the process keeps running',
    );
  });
}

/**
 * Runs a service's main; a failure prints `name: reason` and exits 1. Traces are started
 * first (when OTEL_EXPORTER_OTLP_ENDPOINT asks for them), named after the service.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  surviveUnhandledRejections(name);
  // A bad OTEL_* value fails like any other start-up error: one line, exit 1.
  Promise.resolve()
    .then(() => startTracing(name))
    .then(main)
    .catch((err: unknown) => {
      process.stderr.write(`${name}: ${isYxError(err) || err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
