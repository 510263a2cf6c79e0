import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEventStream, type StreamEvent } from './event-stream.ts';

const streamOf = (chunks: string[]): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(c) {
      for (const s of chunks) c.enqueue(new TextEncoder().encode(s));
      c.close();
    },
  });

test('events split across chunks arrive whole, JSON parsed, keep-alives skipped', async () => {
  const seen: StreamEvent[] = [];
  await readEventStream(
    streamOf([
      'event: plan\ndata: {"id":"p1",',
      '"percentDone":50}\n\n: keep-alive\n\n',
      'event: host\ndata: {"hostId":"h1"}\n\nevent: x\n',
      'data: not json\n\n',
    ]),
    (e) => seen.push(e),
  );
  assert.deepEqual(seen, [
    { event: 'plan', data: { id: 'p1', percentDone: 50 } },
    { event: 'host', data: { hostId: 'h1' } },
    { event: 'x', data: 'not json' },
  ]);
});

test('an event without a name is a message; an unfinished event at the end is dropped', async () => {
  const seen: StreamEvent[] = [];
  await readEventStream(streamOf(['data: 1\n\n', 'event: plan\ndata: {"id"']), (e) => seen.push(e));
  assert.deepEqual(seen, [{ event: 'message', data: 1 }]);
});

test('aborting stops the read of a stream that never ends', async () => {
  const ac = new AbortController();
  const seen: StreamEvent[] = [];
  const endless = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('data: 1\n\n'));
    },
  });
  const reading = readEventStream(
    endless,
    (e) => {
      seen.push(e);
      ac.abort();
    },
    ac.signal,
  );
  await reading;
  assert.equal(seen.length, 1);
});
