// The process edge every service main.ts shares: stop in order on SIGTERM/SIGINT, and
// exit with a one-line reason when start-up fails.
import { isYxError } from './errors.ts';

/** Runs the steps in order on SIGTERM or SIGINT (a step that fails does not stop the rest), then exits. */
export function stopOnSignals(...steps: (() => Promise<unknown>)[]): void {
  const shutdown = async (): Promise<void> => {
    for (const step of steps) await step().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

/** Runs a service's main; a failure prints `name: reason` and exits 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${isYxError(err) || err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
