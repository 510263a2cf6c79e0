// Server-sent events read from a fetch response (EventSource cannot send the
// Authorization header): the body's bytes through eventsource-parser, each event's data
// parsed as JSON. Keep-alive comments are skipped by the parser.
import { createParser } from 'eventsource-parser';

export interface StreamEvent {
  event: string;
  data: unknown;
}

/** Reads a stream of SSE bytes to its end (or the signal), calling onEvent for each event. */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: StreamEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const parser = createParser({
    onEvent: (e) => {
      let data: unknown;
      try {
        data = JSON.parse(e.data);
      } catch {
        data = e.data;
      }
      onEvent({ event: e.event ?? 'message', data });
    },
  });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const cancel = (): void => {
    reader.cancel().catch(() => {});
  };
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}
