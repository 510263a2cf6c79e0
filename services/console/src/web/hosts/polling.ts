// Asking an API again and again: each answer says when to ask next (or not to); a failure
// the API calls retryable is asked again after a pause, any other is the answer. Stopped
// (and the request in flight aborted) by the function it returns: a hook's cleanup.
import type { ConsoleApiError } from '../api/api-error.ts';

const RETRY_MS = 3000;

export function startPolling<T>(
  ask: (signal: AbortSignal) => Promise<T>,
  onAnswer: (value: T) => number | null,
  onError: (err: ConsoleApiError) => void,
): () => void {
  const ac = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const again = (ms: number | null): void => {
    if (ms !== null && !ac.signal.aborted) timer = setTimeout(round, ms);
  };
  function round(): void {
    ask(ac.signal).then(
      (value) => {
        if (!ac.signal.aborted) again(onAnswer(value));
      },
      (err: ConsoleApiError) => {
        if (ac.signal.aborted) return;
        onError(err);
        again(err.retryable ? RETRY_MS : null);
      },
    );
  }
  round();
  return () => {
    ac.abort();
    clearTimeout(timer);
  };
}
